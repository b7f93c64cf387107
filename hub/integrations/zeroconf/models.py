"""What zeroconf hands other integrations: a resolved service, free of library types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ZeroconfService:
    """A service announced on the LAN, resolved to addresses, port and TXT properties."""

    type: str  # e.g. "_mqtt._tcp.local."
    name: str  # instance name, e.g. "Broker._mqtt._tcp.local."
    server: str | None
    addresses: tuple[str, ...]
    port: int
    properties: dict[str, str | None] = field(default_factory=dict)

    @property
    def host(self) -> str | None:
        """An address to connect to: IPv4 first, IPv6 in URL brackets, else None."""
        for address in self.addresses:
            if ":" not in address:
                return address
        return f"[{self.addresses[0]}]" if self.addresses else None
