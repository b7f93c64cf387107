"""`ethos cloud stock import` in production (where it does not migrate, `ethos cloud
migrate` does): every table is known, so the units' foreign keys resolve and the units land."""

from __future__ import annotations

from pathlib import Path

from tests.cloud.ops.replicas import run_cli

PRODUCTION_ENV = {
    "ETHOS_ENV": "production",
    "ETHOS_SECRET_KEY": "p" * 40,
    "ETHOS_BASE_URL": "https://shop.example.org",
    "SMTP_URL": "smtp://127.0.0.1:1",
    "BTCPAY_URL": "https://btcpay.example.org",
    "BTCPAY_API_KEY": "a-real-looking-key",
    "BTCPAY_STORE_ID": "a-real-store",
    "BTCPAY_WEBHOOK_SECRET": "a-real-webhook-secret",
}


def test_stock_import_in_production_adds_the_units(tmp_path: Path):
    env = {
        **PRODUCTION_ENV,
        "ETHOS_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }
    migrated = run_cli(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    csv = tmp_path / "units.csv"
    csv.write_text(f"serial,sku,claim_secret\nEPD-990001,EPD-1,{'ab' * 32}\n")
    imported = run_cli(env, "stock", "import", str(csv))
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert "1 units added (EPD-1 1)" in imported.stdout
