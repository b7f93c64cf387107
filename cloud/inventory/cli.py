"""The work behind `ethos cloud stock import FILE.csv` (the parser lives in cloud/cli.py)."""

from __future__ import annotations

import sys

from cloud import db
from cloud import models as all_models  # noqa: F401 (every table: their foreign keys resolve)
from cloud.catalog.loader import load_catalog
from cloud.config import CloudSettings
from cloud.inventory.importer import StockImportError, import_stock


async def run_stock_import(settings: CloudSettings, text: str) -> int:
    """Import into DATABASE_URL (migrated first outside production); returns the exit code."""
    engine = db.create_engine(settings.database_url, settings.database_schema)
    try:
        if not settings.production:  # production migrates with `ethos cloud migrate`
            await db.async_upgrade_to_head(engine)
        skus = set(load_catalog().skus)
        async with db.session_factory(engine)() as session, session.begin():
            result = await import_stock(session, settings.secret_key, text, skus)
    except StockImportError as err:
        print("nothing imported:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    per_sku = ", ".join(f"{sku} {count}" for sku, count in sorted(result.skus.items()))
    print(f"{result.added} units added ({per_sku or 'none'}), {result.unchanged} already in stock")
    return 0
