"""Reading interaction and item CSV files for offline evaluation, with errors naming the line."""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .const import ETHICS_AXES
from .records import INTERACTION_COLUMNS, ITEM_COLUMNS, RecommenderInputError, checked_scores

_LOGGER = logging.getLogger(__name__)

# Timestamps outside this range are typos, and beyond 2262 pandas cannot hold them.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class InteractionLog:
    """Interactions read from a file, and what was dropped on the way."""

    frame: pd.DataFrame
    duplicates_dropped: int


def parse_timestamp(text: str) -> datetime:
    """Epoch seconds or ISO 8601; a time without a zone is taken as UTC."""
    text = text.strip()
    try:
        return _in_range(datetime.fromtimestamp(float(text), tz=UTC))
    except (ValueError, OverflowError, OSError):
        pass
    parsed = datetime.fromisoformat(text)  # raises ValueError on nonsense
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return _in_range(parsed)


def _in_range(when: datetime) -> datetime:
    if not _EARLIEST <= when < _LATEST:
        raise ValueError(f"{when} is outside {_EARLIEST.year}-{_LATEST.year}")
    return when


@contextmanager
def _rows(path: Path, required: tuple[str, ...]) -> Iterator[csv.DictReader]:
    """A CSV reader over ``path`` whose header has been checked for ``required`` columns;
    undecodable bytes and CSV syntax errors become :class:`RecommenderInputError`."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        try:
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [column for column in required if column not in header]
            if missing:
                raise RecommenderInputError(
                    f"{path} line 1: missing column(s) {', '.join(missing)} "
                    f"(found: {', '.join(header)})"
                )
            reader.fieldnames = header
            yield reader
        except UnicodeDecodeError:
            raise RecommenderInputError(f"{path}: not UTF-8 text") from None
        except csv.Error as err:
            raise RecommenderInputError(f"{path} line {reader.line_num}: {err}") from None


def read_interactions(path: Path) -> InteractionLog:
    """Read ``user_id,item_id,timestamp`` rows; exact and repeated (user, item) rows collapse
    to the first occurrence, since a purchase history is a set."""
    users: list[str] = []
    items: list[str] = []
    times: list[datetime] = []
    with _rows(path, INTERACTION_COLUMNS) as reader:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise RecommenderInputError(f"{path} line {line}: more fields than columns")
            user, item, stamp = ((row.get(column) or "").strip() for column in INTERACTION_COLUMNS)
            if not user or not item:
                raise RecommenderInputError(f"{path} line {line}: empty user_id or item_id")
            try:
                when = parse_timestamp(stamp)
            except ValueError:
                raise RecommenderInputError(
                    f"{path} line {line}: bad timestamp {stamp!r} "
                    "(expected epoch seconds or ISO 8601)"
                ) from None
            users.append(user)
            items.append(item)
            times.append(when)
    if not users:
        raise RecommenderInputError(f"{path}: no interactions")
    frame = pd.DataFrame({"user_id": users, "item_id": items, "timestamp": times})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    before = len(frame)
    frame = frame.sort_values("timestamp", kind="stable").drop_duplicates(
        ["user_id", "item_id"], keep="first"
    )
    dropped = before - len(frame)
    if dropped:
        _LOGGER.warning("%s: dropped %s repeated (user, item) rows", path, dropped)
    return InteractionLog(frame=frame.reset_index(drop=True), duplicates_dropped=dropped)


def read_items(path: Path) -> pd.DataFrame:
    """Read ``item_id[,category][,privacy,openness,environment][,tags][,name]`` rows.

    Tags are separated by ``|``. An empty score means "not scored"; a score outside 0-10
    or a repeated item_id is an error naming the line.
    """
    rows = []
    seen: dict[str, int] = {}
    with _rows(path, ("item_id",)) as reader:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise RecommenderInputError(f"{path} line {line}: more fields than columns")
            item = (row.get("item_id") or "").strip()
            if not item:
                raise RecommenderInputError(f"{path} line {line}: empty item_id")
            if item in seen:
                raise RecommenderInputError(
                    f"{path} line {line}: item_id {item!r} already given on line {seen[item]}"
                )
            seen[item] = line
            raw = [(row.get(axis) or "").strip() for axis in ETHICS_AXES]
            scores: tuple[float, ...] = (math.nan,) * len(ETHICS_AXES)
            if any(raw):
                try:
                    scores = checked_scores(item, raw)
                except RecommenderInputError as err:
                    raise RecommenderInputError(f"{path} line {line}: {err}") from None
            tags = tuple(tag.strip() for tag in (row.get("tags") or "").split("|") if tag.strip())
            category = (row.get("category") or "").strip()
            rows.append((item, category, tags, (row.get("name") or "").strip(), *scores))
    return pd.DataFrame(rows, columns=list(ITEM_COLUMNS))
