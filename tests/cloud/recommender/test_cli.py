"""`ethos recommender evaluate|synthesize` end to end, in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ethos.cli import main


@pytest.fixture(scope="module")
def store_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    assert main(["recommender", "synthesize", "--out", str(folder), "--users", "150"]) == 0
    return folder


def test_synthesize_writes_the_evaluate_formats(store_log: Path) -> None:
    interactions = (store_log / "interactions.csv").read_text().splitlines()
    assert interactions[0] == "user_id,item_id,timestamp"
    assert len(interactions) > 150
    header = (store_log / "items.csv").read_text().splitlines()[0]
    assert header == "item_id,category,tags,name,privacy,openness,environment"
    assert (store_log / "planted.csv").read_text().startswith("user_id,axis")


def test_evaluate_json_has_the_agreed_shape(
    store_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "recommender",
            "evaluate",
            "--interactions",
            str(store_log / "interactions.csv"),
            "--items",
            str(store_log / "items.csv"),
            "--k",
            "5",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"results", "users", "items"}
    assert set(report["results"]) == {"ethos", "popularity", "random"}
    for values in report["results"].values():
        assert set(values) == {"hr@5", "ndcg@5", "coverage", "ethics@5"}
        assert 0.0 <= values["ndcg@5"] <= values["hr@5"] <= 1.0
        assert 0.0 < values["coverage"] <= 1.0
        assert 0.0 <= values["ethics@5"] <= 10.0
    assert report["items"] == 200
    assert 100 < report["users"] <= 150
    results = report["results"]
    # Random shows the whole catalog, popularity the same few items to everyone.
    assert results["random"]["coverage"] > results["ethos"]["coverage"]
    assert results["ethos"]["coverage"] > results["popularity"]["coverage"]
    assert results["ethos"]["hr@5"] > results["random"]["hr@5"]


def test_evaluate_without_items_reports_no_ethics(
    store_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    interactions = str(store_log / "interactions.csv")
    assert main(["recommender", "evaluate", "--interactions", interactions, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["results"]["ethos"]["ethics@10"] is None
    assert "hr@10" in report["results"]["popularity"]


def test_evaluate_prints_a_table_by_default(
    store_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    interactions = str(store_log / "interactions.csv")
    assert main(["recommender", "evaluate", "--interactions", interactions, "--k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("k=3")
    assert lines[2].split() == ["model", "hr@3", "ndcg@3", "coverage", "ethics@3"]
    assert [line.split()[0] for line in lines[3:]] == ["ethos", "popularity", "random"]


def test_bad_file_is_a_clear_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("user_id,item_id,timestamp\na,X,1\na,Y,not-a-time\n")
    assert main(["recommender", "evaluate", "--interactions", str(path)]) == 2
    assert "line 3: bad timestamp 'not-a-time'" in capsys.readouterr().err
    missing = tmp_path / "absent.csv"
    assert main(["recommender", "evaluate", "--interactions", str(missing)]) == 2
    assert "absent.csv" in capsys.readouterr().err


def test_only_single_interaction_users_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "single.csv"
    path.write_text("user_id,item_id,timestamp\na,X,1\nb,Y,2\n")
    assert main(["recommender", "evaluate", "--interactions", str(path)]) == 2
    assert "no user has two interactions" in capsys.readouterr().err


def test_tiny_log_with_single_interaction_users_still_evaluates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("user_id,item_id,timestamp\na,X,1\na,Y,2\nb,X,1\nc,Z,5\nb,Y,3\n")
    assert main(["recommender", "evaluate", "--interactions", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["users"] == 2 and report["items"] == 3
    # A top 10 of a three-item catalog always holds the held-out item.
    assert report["results"]["popularity"]["hr@10"] == 1.0


def test_help_names_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["recommender", "evaluate", "--help"])
    assert "LOG_LEVEL" in capsys.readouterr().out


def test_items_missing_from_the_items_file_still_count_without_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    interactions = tmp_path / "interactions.csv"
    interactions.write_text(
        "user_id,item_id,timestamp\n"
        + "".join(f"u{n},A,{n}\nu{n},B,{n + 100}\n" for n in range(5))
        + "v,C,1\nv,A,2\n"
    )
    items = tmp_path / "items.csv"
    items.write_text("item_id,category,privacy,openness,environment\nA,plug,9,9,9\nD,bulb,1,1,1\n")
    args = ["recommender", "evaluate", "--interactions", str(interactions), "--items", str(items)]
    assert main([*args, "--json", "--k", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    # A and D from the items file, B and C only from interactions: 4 items in the catalog.
    assert report["items"] == 4
    assert report["users"] == 6
    # Only A (9) and D (1) carry scores, so ethics@2 averages over those shown, whatever
    # the unscored B and C add to the lists.
    for values in report["results"].values():
        assert 1.0 <= values["ethics@2"] <= 9.0


def test_k_below_one_is_refused(store_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    interactions = str(store_log / "interactions.csv")
    assert main(["recommender", "evaluate", "--interactions", interactions, "--k", "0"]) == 2
    assert "k must be at least 1" in capsys.readouterr().err
