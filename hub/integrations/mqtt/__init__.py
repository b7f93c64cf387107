"""MQTT integration: one broker connection, Home Assistant discovery, the mqtt.publish service,
and the broker's device identity (dynamic-security plugin) when the broker enforces it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.core.config_entries import EntryState
from hub.core.errors import ConfigEntryNotReady, ServiceValidationError
from hub.core.services import ServiceCall
from hub.integrations.mqtt.broker_identity import BrokerIdentity
from hub.integrations.mqtt.client import MqttClient, MqttNotConnected
from hub.integrations.mqtt.const import (
    DATA_DISCOVERY_PIN,
    DOMAIN,
    DYNSEC_TIMEOUT_S,
    EVENT_BROKER_IDENTITY,
    FIRST_CONNECT_TIMEOUT_S,
    MAX_QUEUED_DISCOVERY,
    PAYLOAD_OFFLINE,
    PAYLOAD_ONLINE,
)
from hub.integrations.mqtt.discovery import MqttDiscovery
from hub.integrations.mqtt.runtime import MqttConfigEntry, MqttRuntime, mqtt_runtime
from hub.integrations.mqtt.settings import mqtt_settings

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.integrations.zeroconf import ZeroconfService

_LOGGER = logging.getLogger(__name__)


__all__ = ["MqttConfigEntry", "MqttRuntime", "mqtt_runtime"]


async def async_setup(hub: Hub) -> bool:
    """Create or update the broker entry from MQTT_URL (the integration's settings)."""
    url = mqtt_settings(hub).url
    if not url:
        return True
    entries = hub.config_entries.async_entries(DOMAIN)
    if not entries:
        await hub.config_entries.async_add(DOMAIN, "MQTT broker", {"url": url}, setup=False)
    elif entries[0].data.get("url") != url:
        await hub.config_entries.async_update_data(entries[0], {**entries[0].data, "url": url})
    return True


async def async_zeroconf_discovered(hub: Hub, service: ZeroconfService) -> None:
    """A broker announced as ``_mqtt._tcp`` (manifest): used only when MQTT_URL is unset.

    An entry made this way follows the broker if it moves while unreachable; an entry from
    MQTT_URL, or a working one, is left alone. Brokers found so carry no credentials.
    """
    if mqtt_settings(hub).url or service.host is None:
        return
    url = f"mqtt://{service.host}:{service.port}"
    entries = hub.config_entries.async_entries(DOMAIN)
    if not entries:
        _LOGGER.info("Using MQTT broker %s found by zeroconf (%s)", url, service.name)
        await hub.config_entries.async_add(
            DOMAIN, "MQTT broker", {"url": url, "source": "zeroconf"}
        )
        return
    entry = entries[0]
    if entry.data.get("source") != "zeroconf" or entry.data.get("url") == url:
        return
    if entry.state is EntryState.LOADED:
        return
    _LOGGER.info("MQTT broker moved to %s (found by zeroconf as %s)", url, service.name)
    await hub.config_entries.async_unload(entry.entry_id)
    await hub.config_entries.async_update_data(entry, {**entry.data, "url": url})
    await hub.config_entries.async_setup(entry.entry_id)


async def async_setup_entry(hub: Hub, entry: MqttConfigEntry) -> bool:
    prefix = entry.data.get("discovery_prefix") or mqtt_settings(hub).discovery_prefix
    status_topic = f"{prefix}/status"
    try:
        client = MqttClient(
            entry.data["url"],
            birth=(status_topic, PAYLOAD_ONLINE),
            will=(status_topic, PAYLOAD_OFFLINE),
        )
    except (KeyError, ValueError) as err:
        raise ValueError(f"bad broker URL: {err}") from err
    discovery = MqttDiscovery(
        hub, client, entry, prefix, entry.data.get("discovery_queue_size", MAX_QUEUED_DISCOVERY)
    )
    discovery.pin = hub.data.get(DATA_DISCOVERY_PIN)  # before the first retained config
    identity = BrokerIdentity(
        client, prefix, float(entry.data.get("dynsec_timeout", DYNSEC_TIMEOUT_S))
    )
    # Subscriptions first: the connection subscribes them before the birth message.
    await discovery.async_start()
    entry.async_on_unload(discovery.async_stop)
    await identity.async_start()
    entry.async_on_unload(identity.async_stop)
    entry.async_on_unload(
        identity.async_listen(
            lambda: hub.bus.async_fire(EVENT_BROKER_IDENTITY, {"enforced": identity.enforced})
        )
    )
    await client.async_start()
    entry.async_on_unload(client.async_stop)
    timeout = entry.data.get("connect_timeout", FIRST_CONNECT_TIMEOUT_S)
    if not await client.async_wait_first_attempt(timeout):
        raise ConfigEntryNotReady(f"broker {client.address} unreachable: {client.last_error}")
    entry.runtime_data = MqttRuntime(client, discovery, identity)  # others: mqtt_runtime(hub)

    async def async_publish_service(call: ServiceCall) -> None:
        topic, payload = call.data.get("topic"), call.data.get("payload", "")
        if not isinstance(topic, str) or not isinstance(payload, str):
            raise ServiceValidationError("mqtt.publish needs a topic and a string payload")
        try:
            await client.async_publish(
                topic,
                payload,
                qos=int(call.data.get("qos", 0)),
                retain=bool(call.data.get("retain")),
            )
        except (ValueError, MqttNotConnected) as err:
            raise ServiceValidationError(str(err)) from err

    entry.async_on_unload(hub.services.async_register(DOMAIN, "publish", async_publish_service))
    return True


async def async_unload_entry(hub: Hub, entry: MqttConfigEntry) -> bool:
    return True
