"""What the hub keeps for remote access: the household key, the hub's long-term ECDH P-256
key and the paired browsers, in one JSON document (``ethos_remote.keys``).

Secrets are sealed with the hub's secret box when one is given (a copy of the storage folder
alone then reveals nothing). Every change is on disk before the caller goes on: a browser
paired or a key rotated must survive a restart, or browsers and hub would disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.core.models import row_from_json, row_to_json
from hub.core.storage import DocumentStore, StorageError
from hub.integrations.ethos_remote.crypto_const import (
    KEYSTORE_STORAGE_KEY,
    KEYSTORE_STORAGE_VERSION,
)
from hub.integrations.ethos_remote.envelope import HouseholdKey, b64decode, b64encode
from hub.integrations.ethos_remote.handshake import (
    new_private_key,
    private_key_bytes,
    private_key_from_bytes,
    public_point,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cryptography.hazmat.primitives.asymmetric import ec

    from hub.helpers.secret_box import SecretBox

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairedBrowser:
    """A browser paired at home; it acts remotely as hub user ``user_id``."""

    browser_id: str
    name: str
    user_id: int
    public_key: str  # b64 of its 65-byte P-256 point
    paired_at: datetime
    check: str  # the 6 digits both pages showed at pairing


class RemoteKeyStore:
    """In memory for every message; the document on disk follows each change."""

    def __init__(self, storage: DocumentStore, box: SecretBox | None = None) -> None:
        self._document = storage.document(KEYSTORE_STORAGE_KEY, KEYSTORE_STORAGE_VERSION)
        self._box = box
        self._household: HouseholdKey | None = None
        self._private: ec.EllipticCurvePrivateKey | None = None
        self._browsers: dict[str, PairedBrowser] = {}

    async def async_load(self) -> None:
        """Read the document, or make the keys of a hub that never had them."""
        data = await self._document.async_load()
        if data is None:
            self._household, self._private = HouseholdKey.generate(), new_private_key()
            _LOGGER.info("Made the household key and the hub's pairing key for remote access")
            await self.async_save()
            return
        try:
            household = data["household"]
            self._household = HouseholdKey(
                household["kid"], self._reveal(household["secret"], data)
            )
            self._private = private_key_from_bytes(self._reveal(data["hub_private_key"], data))
            self._browsers = {
                raw["browser_id"]: row_from_json(PairedBrowser, raw) for raw in data["browsers"]
            }
        except (KeyError, TypeError, ValueError) as err:
            raise StorageError(
                f"{self._document.path}: the remote access keys cannot be read ({err}); "
                "remove the file to make new keys (every browser must then be paired again)"
            ) from err

    def _reveal(self, stored: str, data: dict[str, Any]) -> bytes:
        if not data.get("sealed"):
            return b64decode(stored)
        if self._box is None:
            raise ValueError("the keys are sealed and no secret box was given")
        from hub.helpers.secret_box import SecretUnreadable

        try:
            return b64decode(self._box.open(stored))
        except SecretUnreadable as err:
            raise ValueError(str(err)) from err

    def _protect(self, secret: bytes) -> str:
        text = b64encode(secret)
        return self._box.seal(text) if self._box is not None else text

    def _snapshot(self) -> dict[str, Any]:
        return {
            "sealed": self._box is not None,
            "household": {
                "kid": self.household_key.kid,
                "secret": self._protect(self.household_key.secret),
            },
            "hub_private_key": self._protect(private_key_bytes(self.hub_private_key)),
            "browsers": [row_to_json(row) for row in self._browsers.values()],
        }

    async def async_save(self) -> None:
        await self._document.async_save(self._snapshot)

    @property
    def household_key(self) -> HouseholdKey:
        if self._household is None:
            raise RuntimeError("RemoteKeyStore.async_load was not awaited")
        return self._household

    @property
    def hub_private_key(self) -> ec.EllipticCurvePrivateKey:
        if self._private is None:
            raise RuntimeError("RemoteKeyStore.async_load was not awaited")
        return self._private

    @property
    def hub_public_key(self) -> bytes:
        """The hub's 65-byte P-256 point."""
        return public_point(self.hub_private_key)

    @property
    def browsers(self) -> dict[str, PairedBrowser]:
        """The paired browsers by id (a copy)."""
        return dict(self._browsers)

    async def async_add_browser(self, browser: PairedBrowser) -> None:
        """Pair ``browser`` (replacing an earlier pairing of the same id); on disk on return."""
        self._browsers[browser.browser_id] = browser
        await self.async_save()

    async def async_rotate(self, removed: Iterable[str] = ()) -> list[PairedBrowser]:
        """Forget the ``removed`` browsers and replace the household key; on disk on return.
        The browsers actually removed."""
        gone = [self._browsers.pop(b) for b in list(removed) if b in self._browsers]
        self._household = HouseholdKey.generate()
        await self.async_save()
        _LOGGER.info(
            "Rotated the household key (now %s); %s browser(s) removed",
            self._household.kid,
            len(gone),
        )
        return gone
