"""`ethos cloud stock import FILE.csv`: all-or-nothing, idempotent, secrets sealed at rest."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select, text

from cloud.catalog.loader import load_catalog
from cloud.inventory.importer import StockImportError, import_stock
from cloud.inventory.models import StockUnit
from cloud.inventory.sealing import seal, unseal
from ethos.cli import main as ethos_main

SKUS = set(load_catalog().skus)
KEY = "test-secret-key-for-sealing-claim-secrets"


def csv_of(*rows: tuple[str, str, str]) -> str:
    return "serial,sku,claim_secret\n" + "".join(",".join(row) + "\n" for row in rows)


@pytest.fixture
def session_factory(store_sessions):
    """Sessions on a database at the migrations' head (tests/cloud/conftest.py)."""
    return store_sessions


async def _units(factory) -> list[StockUnit]:
    async with factory() as session:
        return list(await session.scalars(select(StockUnit).order_by(StockUnit.serial)))


async def test_import_adds_units_and_reimport_is_a_no_op(session_factory):
    rows = [(f"EPD-{n:06d}", "EPD-1", secrets.token_hex(32)) for n in range(1, 4)]
    async with session_factory() as session, session.begin():
        result = await import_stock(session, KEY, csv_of(*rows), SKUS)
    assert (result.added, result.unchanged, result.skus) == (3, 0, {"EPD-1": 3})
    async with session_factory() as session, session.begin():
        again = await import_stock(session, KEY, csv_of(*rows), SKUS)
    assert (again.added, again.unchanged) == (0, 3)
    units = await _units(session_factory)
    assert [(u.serial, u.sku) for u in units] == [(r[0], r[1]) for r in rows]
    assert [unseal(KEY, u.serial, u.sealed_claim_secret).hex() for u in units] == [
        r[2] for r in rows
    ]


async def test_claim_secrets_are_not_in_the_database_in_clear(session_factory):
    secret = secrets.token_hex(32)
    async with session_factory() as session, session.begin():
        await import_stock(session, KEY, csv_of(("EPD-000042", "EPD-1", secret)), SKUS)
    async with session_factory() as session:
        dump = " ".join(
            str(value)
            for row in await session.execute(text("SELECT * FROM stock_units"))
            for value in row
        )
    assert "EPD-000042" in dump
    assert secret not in dump and secret.upper() not in dump
    assert bytes.fromhex(secret).hex() not in dump


def test_a_sealed_secret_only_opens_for_its_serial_and_key():
    sealed = seal(KEY, "EPD-000001", b"\x01" * 32)
    assert unseal(KEY, "EPD-000001", sealed) == b"\x01" * 32
    with pytest.raises(Exception):  # noqa: B017 (AES-GCM raises InvalidTag)
        unseal(KEY, "EPD-000002", sealed)
    with pytest.raises(Exception):  # noqa: B017
        unseal("another-key-entirely-another-key", "EPD-000001", sealed)
    assert seal(KEY, "EPD-000001", b"\x01" * 32) != sealed  # fresh nonce each time


@pytest.mark.parametrize(
    ("text_", "complaint"),
    [
        ("serial,sku\nEPD-000001,EPD-1\n", "line 1: the header must be serial,sku,claim_secret"),
        (csv_of(("EPD-1", "EPD-1", "00" * 32)), "should look like EPD-000123"),
        (csv_of(("EPD-000001", "NOPE", "00" * 32)), "sku 'NOPE' is not in the catalog"),
        (csv_of(("EPD-000001", "EPD-1", "00" * 31)), "64 hex digits"),
        (csv_of(("EPD-000001", "EPD-1", "zz" * 32)), "64 hex digits"),
        (
            csv_of(("EPD-000001", "EPD-1", "00" * 32), ("EPD-000001", "EPD-1", "11" * 32)),
            "line 3: serial EPD-000001 repeats line 2",
        ),
        ("serial,sku,claim_secret\nEPD-000001,EPD-1\n", "line 2: expected 3 columns"),
    ],
)
async def test_one_bad_line_imports_nothing(session_factory, text_, complaint):
    good = ("EPD-000009", "EPD-1", "ab" * 32)
    body = text_ + ",".join(good) + "\n" if text_.startswith("serial,sku,claim") else text_
    async with session_factory() as session, session.begin():
        with pytest.raises(StockImportError) as err:
            await import_stock(session, KEY, body, SKUS)
    assert any(complaint in problem for problem in err.value.problems), err.value.problems
    assert await _units(session_factory) == []


async def test_reimport_with_a_different_secret_is_refused(session_factory):
    async with session_factory() as session, session.begin():
        await import_stock(session, KEY, csv_of(("EPD-000001", "EPD-1", "00" * 32)), SKUS)
    async with session_factory() as session, session.begin():
        with pytest.raises(StockImportError, match="different sku or claim secret"):
            await import_stock(
                session,
                KEY,
                csv_of(("EPD-000002", "EPD-1", "22" * 32), ("EPD-000001", "EPD-1", "11" * 32)),
                SKUS,
            )
    assert [u.serial for u in await _units(session_factory)] == ["EPD-000001"]


def test_cli_imports_a_file_and_reports_problems(database, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ETHOS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database.url)
    if database.schema:
        monkeypatch.setenv("ETHOS_DB_SCHEMA", database.schema)
    good = tmp_path / "stock.csv"
    good.write_text(csv_of(("EPD-000123", "EPD-1", "cd" * 32), ("EPD-000124", "EPD-1", "ef" * 32)))
    assert ethos_main(["cloud", "stock", "import", str(good)]) == 0
    assert "2 units added (EPD-1 2), 0 already in stock" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_of(("EPD-000125", "EPD-1", "short")))
    assert ethos_main(["cloud", "stock", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err and "line 2: claim_secret must be 64 hex digits" in err
    assert ethos_main(["cloud", "stock", "import", str(tmp_path / "missing.csv")]) == 1
    assert "cannot read" in capsys.readouterr().err
