"""Commands to Mosquitto's dynamic-security plugin over the hub's own broker connection.

The plugin reads ``{"commands": [...]}`` on ``$CONTROL/dynamic-security/v1`` and answers
``{"responses": [...]}`` on ``$CONTROL/dynamic-security/v1/response``. Every command here
carries a random ``correlationData`` that the plugin echoes, so an answer is matched to its
command (not to whatever arrived next). Only the plugin's admin clients may publish there:
for anyone else the broker drops the command and no answer ever comes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from hub.integrations.mqtt.client import MqttClient, MqttNotConnected, ReceivedMessage
from hub.integrations.mqtt.const import DYNSEC_RESPONSE_TOPIC, DYNSEC_TIMEOUT_S, DYNSEC_TOPIC

_LOGGER = logging.getLogger(__name__)
MAX_PENDING = 256


class DynsecError(Exception):
    """The plugin refused a command (its message says why) or did not answer."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command
        self.message = message


class DynsecTimeout(DynsecError):
    """No answer: no plugin on this broker, or this connection is not its admin."""


class DynsecChannel:
    """Request/response over MQTT: ``await channel.async_call({"command": ...})``."""

    def __init__(self, client: MqttClient, timeout: float = DYNSEC_TIMEOUT_S) -> None:
        self._client = client
        self.timeout = timeout
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def async_start(self) -> Callable[[], None]:
        """Listen for answers; returns the unsubscribe."""
        return await self._client.async_subscribe(DYNSEC_RESPONSE_TOPIC, self._on_response)

    def _on_response(self, message: ReceivedMessage) -> None:
        try:
            responses = json.loads(message.payload).get("responses")
        except (ValueError, AttributeError):
            return
        if not isinstance(responses, list):
            return
        for response in responses:
            if not isinstance(response, dict):
                continue
            future = self._pending.get(str(response.get("correlationData")))
            if future is not None and not future.done():
                future.set_result(response)

    async def async_run(self, *commands: dict[str, Any]) -> list[dict[str, Any]]:
        """Send the commands in one message; their answers, in the same order.

        Raises DynsecTimeout when an answer does not come in time."""
        if len(self._pending) + len(commands) > MAX_PENDING:
            raise DynsecError("commands", "too many broker commands waiting for answers")
        loop = asyncio.get_running_loop()
        ids = [secrets.token_hex(8) for _ in commands]
        futures = [loop.create_future() for _ in commands]
        self._pending.update(zip(ids, futures, strict=True))
        tagged = [{**c, "correlationData": i} for c, i in zip(commands, ids, strict=True)]
        names = ", ".join(str(c.get("command")) for c in commands)
        try:
            await self._client.async_publish_control(DYNSEC_TOPIC, json.dumps({"commands": tagged}))
            async with asyncio.timeout(self.timeout):
                return list(await asyncio.gather(*futures))
        except TimeoutError:
            raise DynsecTimeout(names, "no answer from the dynamic-security plugin") from None
        except MqttNotConnected as err:
            raise DynsecTimeout(names, f"broker not connected ({err})") from err
        finally:
            for key in ids:
                future = self._pending.pop(key, None)
                if future is not None and not future.done():
                    future.cancel()

    async def async_call(self, command: dict[str, Any]) -> dict[str, Any]:
        """One command; its ``data`` (may be empty). DynsecError when the plugin refused."""
        (response,) = await self.async_run(command)
        if response.get("error"):
            raise DynsecError(str(command.get("command")), str(response["error"]))
        data = response.get("data")
        return data if isinstance(data, dict) else {}
