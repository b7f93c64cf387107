"""Remote commands: open the envelope, make sure it is fresh and from a paired browser whose
person may control devices, that the entity is shared and takes that service, then run the
hub service as that person. The reply says ok or, for a person, why not.

Nothing is answered to a payload that does not open (unknown key, failed tag, replay, a
sender other than the topic's browser): whoever sent it cannot read a reply anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.const import ATTR_ENTITY_ID
from hub.core.errors import HubError
from hub.core.events import Context
from hub.integrations.ethos_remote import envelope
from hub.integrations.ethos_remote.const import COMMAND_TIMEOUT_S, CONTROLS
from hub.integrations.ethos_remote.crypto_const import COMMAND_WINDOW_US, MAX_PAYLOAD_BYTES

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.integrations.ethos_remote.members import Members
    from hub.integrations.ethos_remote.pairing import RemotePairing
    from hub.integrations.ethos_remote.sharing import Sharing

_LOGGER = logging.getLogger(__name__)
MAX_ID_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Command:
    """A command that opened and is fresh: who sent it and what it asks."""

    browser: str
    request_id: str
    entity_id: str
    service: str
    data: Mapping[str, Any]


def reply(request_id: str, error: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"type": "reply", "id": request_id, "ok": error is None}
    if error is not None:
        answer["error"] = error
    return answer


class CommandGate:
    """Opens commands (one replay guard for every browser) and runs the allowed ones."""

    def __init__(self, hub: Hub, sharing: Sharing, members: Members, keys: RemotePairing) -> None:
        self._hub = hub
        self._sharing = sharing
        self._members = members
        self._keys = keys
        self._guard = envelope.ReplayGuard()
        self.refused = 0  # payloads that did not open or came again

    def open(self, browser: str, topic: str, payload: bytes) -> Command | dict[str, Any] | None:
        """The command, a reply refusing a readable but unusable command, or None: nothing
        to answer."""
        if len(payload) > MAX_PAYLOAD_BYTES:
            self.refused += 1
            return None
        try:
            opened = envelope.open_sealed(self._keys.household_key, topic, payload)
            if opened.sender != browser:
                raise envelope.EnvelopeError("sealed by another sender than its topic's")
            stale = self._guard.refusal(
                opened.sender, topic, opened.counter, window_us=COMMAND_WINDOW_US
            )
            if stale is not None:
                raise envelope.EnvelopeError(stale)
            self._guard.accept(opened.sender, topic, opened.counter, window_us=COMMAND_WINDOW_US)
        except envelope.EnvelopeError as err:
            self.refused += 1
            _LOGGER.debug("Remote command on %s refused: %s", topic, err)
            return None
        body = opened.body
        request_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID_LENGTH:
            return None
        entity_id, service, data = body.get("entity_id"), body.get("service"), body.get("data")
        if body.get("type") != "command" or not isinstance(entity_id, str):
            return reply(request_id, "that is not a command this hub understands")
        if not isinstance(service, str) or not isinstance(data, dict | None):
            return reply(request_id, "that is not a command this hub understands")
        return Command(browser, request_id, entity_id, service, data or {})

    def refusal(self, command: Command) -> str | None:
        """Why this command may not run (side-effect free), or None."""
        user_id = self._keys.browser_owner(command.browser)
        member = self._members.member(user_id) if isinstance(user_id, int) else None
        if member is None:
            return "this browser no longer belongs to anyone on this hub"
        reason = self._members.control_refusal(member.user_id)
        if reason is not None:
            return reason
        if not self._sharing.is_shared(command.entity_id):
            return "this device is not shared remotely"
        if self._field(command) is False:
            return "this device does not take that command"
        return None

    @staticmethod
    def _field(command: Command) -> str | bool | None:
        """The data field the service takes (None: none), or False: not a remote control."""
        domain, _, service = command.service.partition(".")
        if domain != command.entity_id.split(".", 1)[0]:
            return False
        for name, _label, field in CONTROLS.get(domain, ()):
            if name == service:
                return field
        return False

    async def async_run(self, command: Command) -> dict[str, Any]:
        """Run an opened command if it is allowed; the reply to send."""
        reason = self.refusal(command)
        if reason is not None:
            _LOGGER.info(
                "Remote command %s on %s refused: %s", command.service, command.entity_id, reason
            )
            return reply(command.request_id, reason)
        field = self._field(command)
        data: dict[str, Any] = {ATTR_ENTITY_ID: command.entity_id}
        if isinstance(field, str) and command.data.get(field) is not None:
            data[field] = command.data[field]
        owner = self._keys.browser_owner(command.browser)
        member = None if owner is None else self._members.member(owner)
        if member is None:  # removed between the check and now
            return reply(command.request_id, "this browser is no longer paired")
        domain, _, service = command.service.partition(".")
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                await self._hub.services.async_call(
                    domain, service, data, Context(user_id=member.subject)
                )
        except HubError as err:
            return reply(command.request_id, str(err))
        except TimeoutError:
            return reply(command.request_id, "the device did not answer in time")
        except Exception:
            _LOGGER.exception("Remote command %s on %s failed", command.service, command.entity_id)
            return reply(command.request_id, "the hub could not do that")
        return reply(command.request_id)
