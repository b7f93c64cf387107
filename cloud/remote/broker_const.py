"""Names and limits the store, the broker node and the broker tokens share (see REMOTE.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

# The OAuth 2.0 plugin's resource server: the tokens' audience and their scopes' prefix.
RESOURCE_SERVER_ID: Final = "ethos_broker"
TOPIC_ROOT: Final = "ethos-home"
WEB_MQTT_PATH: Final = "/ws"

# RabbitMQ's MQTT plugin publishes to this topic exchange; MQTT's '/' becomes '.' in its
# routing keys, '+' becomes '*'.
MQTT_EXCHANGE: Final = "amq.topic"
# RabbitMQ's escape of the default virtual host '/' inside a scope.
MQTT_VHOST_IN_SCOPE: Final = "%2F"
# The MQTT plugin's queue of a subscriber: this prefix, the client id, then qos0 or qos1.
MQTT_QUEUE_PREFIX: Final = "mqtt-subscription-"

HUB_SUBJECT_PREFIX: Final = "hub-"
PERSON_SUBJECT_PREFIX: Final = "user-"
HUB_CLIENT_ID_PREFIX: Final = "hub-"
BROWSER_CLIENT_ID_PREFIX: Final = "web-"

HUB_TOKEN_LIFETIME: Final = timedelta(seconds=600)
PERSON_TOKEN_LIFETIME: Final = timedelta(seconds=300)
