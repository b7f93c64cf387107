"""The hub's JSON documents: atomic writes, the previous good copy, migrations, debouncing."""

from __future__ import annotations

import json
import logging
import stat
import textwrap
from pathlib import Path

import pytest

from hub.core.storage import DocumentCorrupt, DocumentStore, DocumentTooNew
from tests.support.processes import run_python_code

KEY = "test.things"


def _file(folder: Path, name: str = f"{KEY}.json") -> dict:
    return json.loads((folder / name).read_text())


def _set_aside(folder: Path) -> list[Path]:
    return list(folder.glob(f"{KEY}.json.corrupt-*"))


async def _store_with(folder: Path, data: object, version: int = 1) -> None:
    store = DocumentStore(folder)
    await store.document(KEY, version).async_save(lambda: data)
    await store.async_close()


async def test_a_document_comes_back_as_it_was_saved(tmp_path: Path) -> None:
    await _store_with(tmp_path, {"things": ["a", "ü"], "n": 1})
    assert _file(tmp_path) == {"key": KEY, "version": 1, "data": {"things": ["a", "ü"], "n": 1}}
    # Only the hub's user may read what it keeps (hashes, sealed secrets).
    assert stat.S_IMODE((tmp_path / f"{KEY}.json").stat().st_mode) == 0o600
    store = DocumentStore(tmp_path)
    assert await store.document(KEY, 1).async_load() == {"things": ["a", "ü"], "n": 1}
    assert await store.document("test.never_written", 1).async_load() is None
    await store.async_close()


async def test_saving_keeps_the_previous_good_copy(tmp_path: Path) -> None:
    await _store_with(tmp_path, {"n": 1})
    await _store_with(tmp_path, {"n": 2})
    assert _file(tmp_path)["data"] == {"n": 2}
    assert _file(tmp_path, f"{KEY}.json.bak")["data"] == {"n": 1}


CRASH_BEFORE_RENAME = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from hub.core.storage import DocumentStore

    async def main():
        store = DocumentStore(Path(sys.argv[1]))
        document = store.document("test.things", 1)
        await document.async_save(lambda: {"n": "new"})

    real_replace = os.replace
    def crash(src, dst):  # the power goes out after the new file is written, before the rename
        if str(src).endswith(".json.tmp"):
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)
    os.replace = crash
    asyncio.run(main())
    """
)


async def test_a_crash_between_writing_and_renaming_leaves_the_old_document(
    tmp_path: Path,
) -> None:
    await _store_with(tmp_path, {"n": "old"})
    crashed = run_python_code(CRASH_BEFORE_RENAME, str(tmp_path))
    assert crashed.returncode == -9, crashed.stderr
    assert (tmp_path / f"{KEY}.json.tmp").exists()  # the new content got that far

    store = DocumentStore(tmp_path)
    document = store.document(KEY, 1)
    assert await document.async_load() == {"n": "old"}
    await document.async_save(lambda: {"n": "after"})  # the leftover is simply replaced
    await store.async_close()
    assert _file(tmp_path)["data"] == {"n": "after"}
    assert not (tmp_path / f"{KEY}.json.tmp").exists()


async def test_each_version_is_migrated_step_by_step_and_written_back(tmp_path: Path) -> None:
    steps = {
        1: lambda data: {"names": data["names"], "count": len(data["names"])},  # 1 -> 2
        2: lambda data: {**data, "names": [n.title() for n in data["names"]]},  # 2 -> 3
    }
    for version, stored, expected in (
        (1, {"names": ["ann", "ben"]}, {"names": ["Ann", "Ben"], "count": 2}),
        (2, {"names": ["cy"], "count": 7}, {"names": ["Cy"], "count": 7}),
        (3, {"names": ["Di"], "count": 1}, {"names": ["Di"], "count": 1}),
    ):
        folder = tmp_path / f"from_{version}"
        await _store_with(folder, stored, version)
        store = DocumentStore(folder)
        assert await store.document(KEY, 3, steps).async_load() == expected
        await store.async_close()
        assert _file(folder) == {"key": KEY, "version": 3, "data": expected}
        if version < 3:  # the version before the migration is the previous good copy
            assert _file(folder, f"{KEY}.json.bak")["version"] == version


async def test_a_document_from_a_newer_hub_is_refused_and_left_alone(tmp_path: Path) -> None:
    await _store_with(tmp_path, {"n": 1}, version=5)
    before = (tmp_path / f"{KEY}.json").read_bytes()
    store = DocumentStore(tmp_path)
    with pytest.raises(DocumentTooNew, match=r"newer version of the hub.*version 5.*up to 2"):
        await store.document(KEY, 2).async_load()
    await store.async_close()
    assert (tmp_path / f"{KEY}.json").read_bytes() == before


async def test_a_corrupt_document_is_set_aside_and_the_previous_good_copy_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await _store_with(tmp_path, {"n": 1})
    await _store_with(tmp_path, {"n": 2})
    (tmp_path / f"{KEY}.json").write_bytes(b'{"key": "test.things", "vers')  # a torn file

    store = DocumentStore(tmp_path)
    with caplog.at_level(logging.ERROR):
        assert await store.document(KEY, 1).async_load() == {"n": 1}
    await store.async_close()
    assert f"{KEY}.json cannot be read" in caplog.text
    assert "previous good copy is used" in caplog.text
    [aside] = _set_aside(tmp_path)
    assert aside.read_bytes().endswith(b'"vers')  # kept for a look, never deleted
    assert _file(tmp_path)["data"] == {"n": 1}  # the document is whole again on disk


async def test_a_corrupt_document_without_a_good_copy_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / f"{KEY}.json").write_text("not json")
    store = DocumentStore(tmp_path)
    with pytest.raises(DocumentCorrupt) as refused:
        await store.document(KEY, 1).async_load()
    await store.async_close()
    message = str(refused.value)
    assert f"{KEY}.json cannot be read" in message and "Restore a backup" in message
    [aside] = _set_aside(tmp_path)
    assert aside.name in message and aside.read_text() == "not json"


async def test_changes_in_a_burst_are_written_once_after_the_delay(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    document = store.document(KEY, 1)
    things: list[int] = []
    for n in range(100):
        things.append(n)
        document.async_delay_save(lambda: {"things": things}, delay=60)
    assert not (tmp_path / f"{KEY}.json").exists()  # nothing written during the burst
    await store.async_close()  # stopping writes what is pending
    assert _file(tmp_path)["data"] == {"things": list(range(100))}
    assert not (tmp_path / f"{KEY}.json.bak").exists()  # one write: nothing was replaced


FULL_DISK = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    from pathlib import Path
    from hub.core.storage import DocumentStore

    async def main():
        store = DocumentStore(Path(sys.argv[1]))
        document = store.document("test.things", 1)
        data = {"blob": "small"}
        await document.async_save(lambda: data)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # the disk is full now
        data["blob"] = "x" * 20_000
        await document.async_save(lambda: data)
        full = store.problems.messages()
        on_disk = json.loads(Path(sys.argv[1], "test.things.json").read_text())["data"]
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space was freed
        await store.async_flush()
        print(json.dumps({"full": full, "on_disk_while_full": on_disk,
                          "after": store.problems.messages()}))
        await store.async_close()

    asyncio.run(main())
    """
)


def test_a_full_disk_keeps_the_last_good_document_and_says_so(tmp_path: Path) -> None:
    ran = run_python_code(FULL_DISK, str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["full"] == ["cannot write test.things.json: File too large"]
    assert "changes are kept in memory" in ran.stderr
    assert result["on_disk_while_full"] == {"blob": "small"}
    assert result["after"] == []
    assert _file(tmp_path)["data"] == {"blob": "x" * 20_000}
    assert not (tmp_path / f"{KEY}.json.tmp").exists()
