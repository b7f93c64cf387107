"""Console pages for stock: levels per product with their low-stock thresholds, the CSV
import (preview, then import), and a unit looked up by its serial."""

from __future__ import annotations

import logging

from aiohttp import web

from cloud.admin.access import render_admin, require_operator
from cloud.admin.audit import record
from cloud.admin.nav import add_nav_entry
from cloud.catalog.keys import CATALOG
from cloud.domain import InputErrors
from cloud.inventory import console
from cloud.inventory.importer import StockImportError, import_stock
from cloud.inventory.low_stock import STOCK_CONSOLE_PATH
from cloud.inventory.sealing import CLAIM_SECRET_BYTES
from cloud.web.forms import posted_form, read_form, transaction
from cloud.web.keys import DB, SETTINGS

_LOGGER = logging.getLogger(__name__)

STOCK_PATH = STOCK_CONSOLE_PATH
CSV_FIELD = "csv"
FILE_FIELD = "file"


def _products(request: web.Request) -> list[tuple[str, str]]:
    return [(p.sku, p.name) for p in request.app[CATALOG].products]


def console_link(request: web.Request) -> str:
    return f"{request.app[SETTINGS].base_url}{STOCK_PATH}"


async def _stock_page(request: web.Request, status: int = 200, **extra: object) -> web.Response:
    settings = request.app[SETTINGS]
    async with request.app[DB]() as session:
        levels = await console.stock_levels(
            session, _products(request), settings.low_stock_threshold
        )
    return render_admin(
        request,
        "inventory/admin_stock.html",
        {
            "levels": levels,
            "default_threshold": settings.low_stock_threshold,
            "secret_hex_digits": CLAIM_SECRET_BYTES * 2,
            **extra,
        },
        status=status,
    )


async def stock_page(request: web.Request) -> web.Response:
    await require_operator(request, "admin.stock.read")
    return await _stock_page(request)


async def _posted_csv(request: web.Request) -> str:
    """The CSV text: an uploaded file if one was chosen, else the text area."""
    upload = posted_form(request).get(FILE_FIELD)
    if upload is not None and not isinstance(upload, str):
        raw = upload.file.read()
        if raw:
            try:
                return str(raw.decode("utf-8-sig"))
            except UnicodeDecodeError as err:
                raise InputErrors({CSV_FIELD: "The file is not UTF-8 text."}) from err
    text = (await read_form(request)).get(CSV_FIELD, "")
    if not text.strip():
        raise InputErrors({CSV_FIELD: "Choose a CSV file or paste its lines."})
    return text


async def import_preview(request: web.Request) -> web.Response:
    await require_operator(request, "admin.stock.write")
    try:
        text = await _posted_csv(request)
    except InputErrors as err:
        return await _stock_page(request, 422, errors=err.fields)
    skus = {sku for sku, _ in _products(request)}
    async with request.app[DB]() as session:
        preview = await console.preview_import(
            session, request.app[SETTINGS].secret_key, text, skus
        )
    return render_admin(
        request,
        "inventory/admin_import.html",
        {"preview": preview, "csv": text},
        status=422 if preview.problems else 200,
    )


async def import_confirm(request: web.Request) -> web.Response:
    principal = await require_operator(request, "admin.stock.write")
    try:
        text = await _posted_csv(request)
    except InputErrors as err:
        return await _stock_page(request, 422, errors=err.fields)
    settings = request.app[SETTINGS]
    skus = {sku for sku, _ in _products(request)}
    try:
        async with transaction(request.app) as session:
            result = await import_stock(session, settings.secret_key, text, skus)
            await record(
                session,
                principal,
                "stock.imported",
                "stock",
                {"added": result.added, "unchanged": result.unchanged, "skus": result.skus},
            )
            # Stock that rose above its threshold re-arms its alert.
            await console.check_low_stock(
                session, _products(request), settings.low_stock_threshold, console_link(request)
            )
    except StockImportError as err:
        preview = console.ImportPreview(None, err.problems)
        return render_admin(
            request,
            "inventory/admin_import.html",
            {"preview": preview, "csv": text},
            status=422,
        )
    return await _stock_page(request, imported=result)


async def set_threshold(request: web.Request) -> web.Response:
    principal = await require_operator(request, "admin.stock.write")
    sku = request.match_info["sku"]
    if request.app[CATALOG].get(sku) is None:
        raise web.HTTPNotFound(text="We do not sell that product.")
    form = await read_form(request)
    try:
        threshold = console.parse_threshold(form.get("threshold"))
    except InputErrors as err:
        return await _stock_page(request, 422, errors=err.fields, error_sku=sku)
    async with transaction(request.app) as session:
        await console.set_threshold(session, sku, threshold)
        await record(
            session, principal, "stock.threshold_set", f"sku:{sku}", {"threshold": threshold}
        )
    raise web.HTTPSeeOther(STOCK_PATH)


async def unit_page(request: web.Request) -> web.Response:
    await require_operator(request, "admin.stock.read")
    serial = request.query.get("serial", "")[:40]
    unit = None
    if serial.strip():
        async with request.app[DB]() as session:
            unit = await console.find_unit(session, serial)
    return render_admin(
        request,
        "inventory/admin_unit.html",
        {"serial": serial, "unit": unit},
        status=404 if serial.strip() and unit is None else 200,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(STOCK_PATH, stock_page)
    app.router.add_post(f"{STOCK_PATH}/preview", import_preview)
    app.router.add_post(f"{STOCK_PATH}/import", import_confirm)
    app.router.add_post(STOCK_PATH + "/{sku}/threshold", set_threshold)
    app.router.add_get(f"{STOCK_PATH}/unit", unit_page)
    add_nav_entry(app, "Stock", STOCK_PATH)
