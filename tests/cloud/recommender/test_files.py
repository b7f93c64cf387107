"""Reading evaluation CSV files: clear errors naming the line, nothing silently lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.recommender.files import read_interactions, read_items
from cloud.recommender.records import RecommenderInputError


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_epoch_and_iso_timestamps_in_utc(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "user_id,item_id,timestamp\n"
        "a,X,1700000000\n"
        "a,Y,2026-01-02T03:04:05+01:00\n"
        "b,X,2026-01-02 00:00:00\n",
    )
    frame = read_interactions(path).frame
    stamps = dict(zip(frame["user_id"] + frame["item_id"], frame["timestamp"], strict=True))
    assert stamps["aX"].isoformat() == "2023-11-14T22:13:20+00:00"
    assert stamps["aY"].isoformat() == "2026-01-02T02:04:05+00:00"
    assert stamps["bX"].isoformat() == "2026-01-02T00:00:00+00:00"


def test_bad_timestamp_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id,timestamp\na,X,1700000000\nb,Y,yesterday\n")
    with pytest.raises(RecommenderInputError, match=r"line 3: bad timestamp 'yesterday'"):
        read_interactions(path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "user,item_id,timestamp\na,X,1\n")
    with pytest.raises(RecommenderInputError, match=r"line 1: missing column\(s\) user_id"):
        read_interactions(path)


def test_empty_ids_and_extra_fields_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id,timestamp\na,X,1\n,Y,2\n")
    with pytest.raises(RecommenderInputError, match=r"line 3: empty user_id or item_id"):
        read_interactions(path)
    path = write(tmp_path, "user_id,item_id,timestamp\na,X,1,surprise\n")
    with pytest.raises(RecommenderInputError, match=r"line 2: more fields than columns"):
        read_interactions(path)


def test_file_without_rows_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RecommenderInputError, match="no interactions"):
        read_interactions(write(tmp_path, "user_id,item_id,timestamp\n"))


def test_repeated_rows_collapse_to_the_first_purchase(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "user_id,item_id,timestamp\na,X,100\na,X,100\na,Y,200\na,X,300\nb,X,100\n",
    )
    log = read_interactions(path)
    assert log.duplicates_dropped == 2
    rows = sorted(zip(log.frame["user_id"], log.frame["item_id"], strict=True))
    assert rows == [("a", "X"), ("a", "Y"), ("b", "X")]
    first_x = log.frame[(log.frame["user_id"] == "a") & (log.frame["item_id"] == "X")]
    assert first_x["timestamp"].iloc[0].timestamp() == 100


def test_items_with_scores_tags_and_unscored_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "item_id,category,privacy,openness,environment,tags\n"
        "X,plug,9,8,7,matter|local-only\n"
        "Y,bulb,,,,\n",
    )
    items = read_items(path).set_index("item_id")
    assert items.loc["X", "category"] == "plug"
    assert items.loc["X", "tags"] == ("matter", "local-only")
    assert items.loc["X", "openness"] == 8.0
    assert items[["privacy", "openness", "environment"]].loc["Y"].isna().all()


def test_item_score_out_of_range_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "item_id,category,privacy,openness,environment\nX,plug,9,8,7\nY,bulb,11,1,1\n"
    )
    with pytest.raises(RecommenderInputError, match=r"line 3: Y: privacy score 11.0 is outside"):
        read_items(path)


def test_repeated_item_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "item_id,category\nX,plug\nY,bulb\nX,bulb\n")
    with pytest.raises(RecommenderInputError, match=r"line 4: item_id 'X' already given on line 2"):
        read_items(path)


def test_undecodable_bytes_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"user_id,item_id,timestamp\na,X,1\n\xff\xfe,Y,2\n")
    with pytest.raises(RecommenderInputError, match=r"binary\.csv: not UTF-8 text"):
        read_interactions(path)


def test_timestamps_outside_a_plausible_range_name_the_line(tmp_path: Path) -> None:
    for stamp in ("0001-01-01T00:00:00", "99999999999", "-5"):
        path = write(tmp_path, f"user_id,item_id,timestamp\na,X,1700000000\nb,Y,{stamp}\n")
        with pytest.raises(RecommenderInputError, match=rf"line 3: bad timestamp '{stamp}'"):
            read_interactions(path)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(alphabet='aX19,.:-T+Z| "\n\r', max_size=300).map(str.encode),
    )
)
def test_any_bytes_either_load_or_fail_with_a_clear_error(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    for header in (
        b"user_id,item_id,timestamp\n",
        b"item_id,category,privacy,openness,environment\n",
    ):
        path.write_bytes(header + body)
        for reader in (read_interactions, read_items):
            try:
                reader(path)
            except RecommenderInputError as err:
                assert str(path) in str(err)
