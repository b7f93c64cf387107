"""Passphrase encryption of a backup: scrypt derives the key, AES-256-GCM seals the archive
in 1 MiB segments (the STREAM construction: each segment's nonce carries its number and
whether it is the last), so archives of any size stream in and out, and a reordered,
truncated or altered archive is refused. ``cryptography`` is imported only when used.

Layout: MAGIC, format byte, scrypt log2(n), r, p, 16-byte salt, 7-byte nonce prefix; then the
sealed segments. The whole header is authenticated with every segment.
"""

from __future__ import annotations

import os
import struct
from typing import IO, TYPE_CHECKING

from hub.core.errors import HubError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"ETHOS-HUB-BACKUP"
FORMAT = 1
SEGMENT = 1024 * 1024
TAG = 16
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 17, 8, 1  # 128 MiB of memory for a moment
MIN_PASSPHRASE = 10
_HEADER = struct.Struct(f">{len(MAGIC)}sBBBB16s7s")


class BackupRefused(HubError):
    """The archive cannot be used (wrong passphrase, damaged, from a newer hub): nothing
    was changed. The message says which and what to do."""


class BackupTooNew(BackupRefused):
    """Made by a newer version of the hub."""


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupRefused(f"the passphrase needs at least {MIN_PASSPHRASE} characters")


def _aead(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    key = Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p).derive(passphrase.encode())
    return AESGCM(key)


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + struct.pack(">I?", number, last)


class EncryptingWriter:
    """A write-only file: what is written comes out sealed in ``target``."""

    def __init__(self, target: IO[bytes], passphrase: str) -> None:
        check_passphrase(passphrase)
        salt, self._prefix = os.urandom(16), os.urandom(7)
        self._header = _HEADER.pack(
            MAGIC, FORMAT, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt, self._prefix
        )
        self._aead = _aead(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
        self._target = target
        self._buffer = bytearray()
        self._number = 0
        target.write(self._header)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > SEGMENT:  # keep one back: the last segment is marked
            self._seal(bytes(self._buffer[:SEGMENT]), last=False)
            del self._buffer[:SEGMENT]
        return len(data)

    def _seal(self, chunk: bytes, last: bool) -> None:
        nonce = _nonce(self._prefix, self._number, last)
        self._target.write(self._aead.encrypt(nonce, chunk, self._header))
        self._number += 1

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def flush(self) -> None:
        """Nothing to do: segments go out whole (tarfile calls it)."""


class DecryptingReader:
    """A read-only file over a sealed archive; refuses it at the first segment that does
    not authenticate (the first one: the passphrase is wrong)."""

    def __init__(self, source: IO[bytes], passphrase: str) -> None:
        header = source.read(_HEADER.size)
        if len(header) < _HEADER.size or not header.startswith(MAGIC):
            raise BackupRefused("this is not an Ethos hub backup")
        _, version, log2_n, r, p, salt, self._prefix = _HEADER.unpack(header)
        if version > FORMAT:
            raise BackupTooNew(
                f"this backup was made by a newer version of the hub (backup format "
                f"{version}; this hub reads up to {FORMAT}): upgrade the hub first"
            )
        if not (10 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
            raise BackupRefused("this backup's header is damaged")
        self._header = header
        self._aead = _aead(passphrase, salt, log2_n, r, p)
        self._source = source
        self._number = 0
        self._pending = source.read(SEGMENT + TAG)
        self._plain = b""
        self._offset = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size
        while wanted != 0:
            if self._offset >= len(self._plain):
                if self._done:
                    break
                self._open_next()
                continue
            end = len(self._plain) if wanted < 0 else min(len(self._plain), self._offset + wanted)
            parts.append(self._plain[self._offset : end])
            if wanted > 0:
                wanted -= end - self._offset
            self._offset = end
        return b"".join(parts)

    def _opens(self, sealed: bytes, last: bool) -> bool:
        from cryptography.exceptions import InvalidTag

        try:
            self._aead.decrypt(_nonce(self._prefix, self._number, last), sealed, self._header)
        except InvalidTag:
            return False
        return True

    def _open_next(self) -> None:
        from cryptography.exceptions import InvalidTag

        sealed, self._pending = self._pending, self._source.read(SEGMENT + TAG)
        last = not self._pending
        try:
            plain = self._aead.decrypt(
                _nonce(self._prefix, self._number, last), sealed, self._header
            )
        except InvalidTag as err:
            if last and self._opens(sealed, last=False):
                raise BackupRefused("the backup is cut short: nothing was changed") from err
            if self._number == 0:
                raise BackupRefused(
                    "the passphrase is wrong (or the backup is damaged): nothing was changed"
                ) from err
            raise BackupRefused("the backup is damaged: nothing was changed") from err
        self._number += 1
        self._plain, self._offset = plain, 0
        self._done = last
