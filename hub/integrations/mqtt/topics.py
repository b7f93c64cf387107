"""Topic checks and MQTT topic-filter matching."""

from __future__ import annotations

from hub.integrations.mqtt.const import MAX_TOPIC_BYTES


def valid_publish_topic(topic: object) -> bool:
    """A concrete topic: non-empty, no wildcards, no NUL, not a broker `$` topic."""
    if not isinstance(topic, str) or not topic or topic.startswith("$"):
        return False
    if "+" in topic or "#" in topic or "\x00" in topic:
        return False
    return len(topic.encode("utf-8")) <= MAX_TOPIC_BYTES


def valid_subscribe_filter(topic_filter: str) -> bool:
    """A filter whose wildcards stand alone in their level (and `#` only last)."""
    if not topic_filter or "\x00" in topic_filter:
        return False
    if len(topic_filter.encode("utf-8")) > MAX_TOPIC_BYTES:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def topic_matches(topic_filter: str, topic: str) -> bool:
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    if topic.startswith("$") and filter_levels[0] in ("+", "#"):
        return False
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)
