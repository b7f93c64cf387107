"""hub.data under typed keys: a HubKey is its name, values come back as stored."""

from __future__ import annotations

from hub.core.hub_data import HubData, HubKey

COUNTER: HubKey[list[int]] = HubKey("counter")


def test_a_typed_key_stores_and_reads_like_its_name() -> None:
    data = HubData()
    data[COUNTER] = [1]
    data[COUNTER].append(2)
    assert data["counter"] == [1, 2]
    assert "counter" in data
    assert data.get(HubKey[int]("missing")) is None
    assert data.get(HubKey[int]("missing"), 7) == 7
    assert data.pop(COUNTER) == [1, 2]
    assert data.pop(COUNTER) is None
