"""The buyer's data in the buyer's hands (issue #18, item 8): download it, delete the account.

A real purchase (paid through the BTCPay simulator), a hub linked to the store by the
device flow and signed in with code + PKCE, then: the export holds what was created; the
deletion page says what will happen; after deleting, no table holds anything personal,
the accounting rows are kept, and the hub can neither refresh nor sign in again.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, select

from cloud.accounts.models import User
from cloud.checkout.models import Order, OrderLine
from cloud.inventory.models import StockUnit
from cloud.oauth.const import HUB_SETUP_CLIENT_ID, MOBILE_CLIENT_ID
from cloud.shipping import service as shipping
from cloud.shipping.service import ShippingAction, Tracking
from cloud.web.keys import DB, ENGINE
from tests.cloud.common import PASSWORD, SHIPPING_ADDRESS, csrf_from, sign_up_and_confirm
from tests.support.oidc_client import OidcClient, OidcError, StoreBrowser, Tokens

HUB_REDIRECT_URI = "http://192.168.1.20:8181/auth/callback"
HUB_NAME = "Ada's hallway hub"
ONBOARDING_SCOPE = "openid profile email devices hub.register"
MEMBER_SCOPE = "openid profile email devices"
TRACKING = Tracking("La Poste", "6A12345678901")


async def _link_hub(base_url: str, browser: StoreBrowser, http: httpx.AsyncClient) -> OidcClient:
    """The hub's set-up: device flow approved by the owner, then self-registration."""
    setup = OidcClient(base_url, HUB_SETUP_CLIENT_ID, http)
    device = await setup.start_device_flow(ONBOARDING_SCOPE)
    await browser.decide_device(device.user_code, approve=True)
    onboarding = await setup.poll_device_token(device, interval=0)
    registered = await setup.register(
        onboarding.access_token,
        {
            "client_name": HUB_NAME,
            "redirect_uris": [HUB_REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": MEMBER_SCOPE,
        },
    )
    return OidcClient(
        base_url,
        registered["client_id"],
        http,
        client_secret=registered["client_secret"],
        redirect_uri=HUB_REDIRECT_URI,
        token_endpoint_auth_method="client_secret_basic",
    )


async def _hub_sign_in(browser: StoreBrowser, hub: OidcClient) -> Tokens:
    request = await hub.authorization_request(MEMBER_SCOPE)
    callback = await browser.authorize(request.url, HUB_REDIRECT_URI, consent="allow")
    return await hub.exchange_code(callback, request)


async def _delivered_order(shop) -> tuple[str, str, str]:
    """A paid, shipped and delivered order of the signed-in buyer: (order id, serial, claim
    secret hex)."""
    stock = await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email=None)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    for action in ShippingAction:
        async with shop.app[DB]() as session, session.begin():
            await shipping.execute(
                session, order_id, action, tracking=TRACKING if action == "ship" else None
            )
    [(serial, secret)] = stock.items()
    return order_id, serial, secret


async def _all_rows(app) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the database really has (reflected, not our models)."""
    async with app[ENGINE].connect() as connection:
        metadata = MetaData()
        await connection.run_sync(lambda sync: metadata.reflect(sync))
        rows = {}
        for table in metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name] = [dict(row._mapping) for row in result]
    return rows


def _cells_holding(rows: dict[str, list[dict[str, Any]]], needle: str) -> list[str]:
    needle = needle.lower()
    return [
        f"{table}.{column}"
        for table, table_rows in rows.items()
        for row in table_rows
        for column, value in row.items()
        if value is not None and needle in str(value).lower()
    ]


@pytest.fixture
async def buyer(shop, unique_id):
    """A buyer with a paid order, signed in at the shop and in a second browser, whose
    hub is linked and signed in."""
    email = f"ada-{unique_id}@example.org"
    await sign_up_and_confirm(shop.client, shop.smtp, email)
    order_id, serial, secret = await _delivered_order(shop)
    base_url = str(shop.client.make_url("")).rstrip("/")
    async with httpx.AsyncClient(timeout=30) as http:
        browser = StoreBrowser(base_url)
        try:
            await browser.sign_in(email, PASSWORD)
            hub = await _link_hub(base_url, browser, http)
            tokens = await _hub_sign_in(browser, hub)
            yield {
                "email": email,
                "order_id": order_id,
                "serial": serial,
                "secret": secret,
                "browser": browser,
                "hub": hub,
                "tokens": tokens,
                "base_url": base_url,
                "http": http,
            }
        finally:
            await browser.aclose()


async def test_the_export_holds_what_was_created(shop, buyer):
    response = await buyer["browser"].http.get("/account/export")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment;")
    data = json.loads(response.text)
    assert data["format"] == "ethos-personal-data/1"
    account = data["account"]
    assert account["email"] == buyer["email"] and account["confirmed"] is True
    assert len(account["sessions"]) == 2  # the shop's browser and the second one
    assert [link["purpose"] for link in account["mailed_links"]] == ["confirm"]
    assert "Confirm your Ethos account" in [mail["subject"] for mail in account["mails"]]

    order = await shop.order(buyer["order_id"])
    [exported] = data["orders"]
    assert exported["id"] == order.id and exported["status"] == "paid"
    assert exported["total"] == str(order.total) and exported["currency"] == order.currency
    assert exported["invoice_id"] == order.invoice_id
    assert exported["lines"] == [
        {
            "sku": "EPD-1",
            "name": "Ethos Presence Detector",
            "unit_price": str(order.total),
            "quantity": 1,
        }
    ]
    assert [step["step"] for step in exported["timeline"]] == [
        "created",
        "paid",
        "packed",
        "shipped",
        "delivered",
    ]
    assert exported["timeline"][3]["detail"] == "La Poste, tracking number 6A12345678901"
    [shipping_address] = data["shipping_addresses"]
    assert shipping_address["order_id"] == order.id
    assert SHIPPING_ADDRESS["ship_name"] in shipping_address["address"]

    [device] = data["devices"]
    assert device["serial"] == buyer["serial"] and device["order_id"] == order.id
    assert buyer["secret"] not in response.text  # claim secrets are withheld

    hub = buyer["hub"]
    oauth = data["hubs_and_apps"]
    [registered] = oauth["hubs_registered"]
    assert registered["client_id"] == hub.client_id and registered["name"] == HUB_NAME
    assert registered["redirect_uris"] == [HUB_REDIRECT_URI]
    assert [c["client_id"] for c in oauth["consents"]] == [hub.client_id]
    signed_in = {s["client_id"]: s for s in oauth["sign_ins"]}
    assert set(signed_in) == {HUB_SETUP_CLIENT_ID, hub.client_id}
    assert signed_in[hub.client_id]["scope"].split() == MEMBER_SCOPE.split()
    assert signed_in[hub.client_id]["revoked_at"] is None


async def test_the_export_needs_a_session(shop):
    response = await shop.client.get("/account/export", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/account/login")


async def test_deleting_the_account_leaves_nothing_personal_and_keeps_the_books(shop, buyer):
    browser: StoreBrowser = buyer["browser"]
    email, order_id = buyer["email"], buyer["order_id"]
    before = await shop.order(order_id)
    async with shop.app[DB]() as session:
        user = (await session.scalars(select(User).where(User.email == email))).one()
    rows_before = await _all_rows(shop.app)
    [address_row] = [r for r in rows_before["shipping_addresses"] if r["order_id"] == order_id]
    sealed_address = address_row["sealed"]
    assert sealed_address
    assert _cells_holding(rows_before, email)  # the scan does find the address while it is there

    page = await browser.http.get("/account/delete")
    assert page.status_code == 200
    for shown in (order_id, buyer["serial"], HUB_NAME, "2 sessions ended"):
        assert shown in page.text.replace("&#39;", "'"), shown

    wrong = await browser.http.post(
        "/account/delete", data={"password": "not my password", "csrf_token": csrf_from(page.text)}
    )
    assert wrong.status_code == 401 and "That is not your password." in wrong.text
    assert _cells_holding(await _all_rows(shop.app), email)  # nothing was erased

    done = await browser.http.post(
        "/account/delete", data={"password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert done.status_code == 303 and done.headers["location"] == "/account/deleted"

    rows = await _all_rows(shop.app)
    personal_values = {
        "email": email,
        "local part": email.split("@")[0],
        "password hash": user.password_hash,
        "hub client id": buyer["hub"].client_id,
        "hub name": HUB_NAME,
        # Sealed at rest, so the scan cannot read it: its sealed text is what must go.
        "sealed shipping address": sealed_address,
    }
    found = {what: _cells_holding(rows, value) for what, value in personal_values.items()}
    assert found == {what: [] for what in personal_values}
    # No column that points at accounts still names this one (SQLite may reuse the id).
    links = [
        f"{table}.{column}"
        for table, table_rows in rows.items()
        for row in table_rows
        for column, value in row.items()
        if column in ("user_id", "owner_user_id") and value == user.id
    ]
    assert links == [] and not [u for u in rows["users"] if u["id"] == user.id]

    # The books: the order, its line, amounts and invoice id; the unit stays sold to it.
    after = await shop.order(order_id)
    assert (after.invoice_id, after.total, after.currency, after.status) == (
        before.invoice_id,
        before.total,
        before.currency,
        "paid",
    )
    assert after.created_at == before.created_at and after.paid_at == before.paid_at
    assert after.user_id is None and after.erased_at is not None
    async with shop.app[DB]() as session:
        lines = list(await session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)))
        unit = (
            await session.scalars(select(StockUnit).where(StockUnit.serial == buyer["serial"]))
        ).one()
    assert [(line.sku, line.quantity) for line in lines] == [("EPD-1", 1)]
    assert unit.order_id == order_id and unit.sold_at is not None


async def test_after_deletion_no_hub_or_browser_gets_back_in(shop, buyer):
    browser: StoreBrowser = buyer["browser"]
    hub: OidcClient = buyer["hub"]
    tokens: Tokens = buyer["tokens"]
    assert (await hub.userinfo(tokens.access_token))["email"] == buyer["email"]
    page = await browser.http.get("/account/delete")
    await browser.http.post(
        "/account/delete", data={"password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )

    with pytest.raises(OidcError) as refused:
        await hub.refresh(tokens.refresh_token or "")
    assert refused.value.error in ("invalid_client", "invalid_grant")
    with pytest.raises(OidcError) as refused:
        await hub.userinfo(tokens.access_token)
    assert refused.value.status == 401
    # Signing in again, at the hub's client or the store's own app, is refused.
    request = await hub.authorization_request(MEMBER_SCOPE)
    answer = await browser.follow_until(request.url, HUB_REDIRECT_URI)
    assert not isinstance(answer, str) and answer.status_code >= 400
    with pytest.raises(AssertionError, match="sign-in refused: 401"):
        await browser.sign_in(buyer["email"], PASSWORD)
    mobile = OidcClient(
        buyer["base_url"],
        MOBILE_CLIENT_ID,
        buyer["http"],
        redirect_uri=f"{buyer['base_url']}/app/callback",
    )
    request = await mobile.authorization_request("openid email")
    answer = await browser.follow_until(request.url, f"{buyer['base_url']}/app/callback")
    assert not isinstance(answer, str)  # the sign-in page, never a code
    assert "/account/login" in str(answer.url)
    # The shop's own browser session ended too, and the order's link no longer opens it.
    assert (await shop.client.get("/account", allow_redirects=False)).status == 303
    assert (await shop.client.get(f"/orders/{buyer['order_id']}")).status == 404


async def test_deletion_waits_for_an_order_in_progress(shop, buyer):
    browser: StoreBrowser = buyer["browser"]
    await shop.add_stock("EPD-1", 1)
    open_order = await shop.place_order("EPD-1", 1, email=None)

    page = await browser.http.get("/account/delete")
    assert 'data-refusal="orders_in_progress"' in page.text and open_order in page.text
    assert 'id="delete-account"' not in page.text
    refused = await browser.http.post(
        "/account/delete", data={"password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 409
    async with shop.app[DB]() as session:
        assert await session.get(Order, open_order) is not None
        user = (await session.scalars(select(User).where(User.email == buyer["email"]))).one()
    assert user.id is not None


async def test_an_operator_account_is_not_deleted_from_the_account_page(shop, buyer):
    from cloud.admin import operators

    async with shop.app[DB]() as session, session.begin():
        assert await operators.grant(session, buyer["email"])
    browser: StoreBrowser = buyer["browser"]

    page = await browser.http.get("/account/delete")
    assert 'data-refusal="still_operator"' in page.text
    refused = await browser.http.post(
        "/account/delete", data={"password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 409 and "operator role" in refused.text
    assert (await browser.http.get("/account")).status_code == 200  # still signed in


async def test_deletion_waits_until_a_paid_order_is_delivered(shop, unique_id):
    email = f"bo-{unique_id}@example.org"
    await sign_up_and_confirm(shop.client, shop.smtp, email)
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", 1, email=None)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")

    page = await (await shop.client.get("/account/delete")).text()

    assert 'data-refusal="orders_in_progress"' in page
    assert f"{order_id}: paid, not yet shipped" in page
    refused = await shop.client.post(
        "/account/delete", data={"password": PASSWORD, "csrf_token": csrf_from(page)}
    )
    assert refused.status == 409
    assert (await shop.order(order_id)).email == email


async def test_guest_orders_bought_with_the_address_are_erased_too(shop, unique_id):
    email = f"cy-{unique_id}@example.org"
    await sign_up_and_confirm(shop.client, shop.smtp, email)
    shop.client.session.cookie_jar.clear()
    await shop.add_stock("EPD-1", 1)
    guest_order = await shop.place_order("EPD-1", 1, email=email)  # signed out, same address
    await shop.pay(guest_order, "expire")
    await shop.wait_status(guest_order, "expired")
    browser = StoreBrowser(str(shop.client.make_url("")).rstrip("/"))
    try:
        await browser.sign_in(email, PASSWORD)
        exported = json.loads((await browser.http.get("/account/export")).text)
        assert [order["id"] for order in exported["orders"]] == [guest_order]
        page = await browser.http.get("/account/delete")
        assert guest_order in page.text
        done = await browser.http.post(
            "/account/delete", data={"password": PASSWORD, "csrf_token": csrf_from(page.text)}
        )
        assert done.status_code == 303
    finally:
        await browser.aclose()

    assert _cells_holding(await _all_rows(shop.app), email) == []
    order = await shop.order(guest_order)
    assert order.erased_at is not None and order.total > 0 and order.invoice_id


async def test_an_operators_export_holds_their_own_audit_entries_only(shop, unique_id):
    from cloud.admin.audit import record
    from cloud.authz import Principal

    email = f"op-{unique_id}@example.org"
    await sign_up_and_confirm(shop.client, shop.smtp, email)
    async with shop.app[DB]() as session, session.begin():
        user = (await session.scalars(select(User).where(User.email == email))).one()
        assert user.id is not None
        await record(session, Principal(user.id, email, None), "order.packed", "order:A1")
        # An account that had this id before (SQLite reuses the highest id once deleted).
        gone = Principal(user.id, "someone-gone@example.org", None)
        await record(session, gone, "order.shipped", "order:B2")

    data = await (await shop.client.get("/account/export")).json()

    assert [(a["action"], a["target"]) for a in data["operator"]["actions_taken"]] == [
        ("order.packed", "order:A1")
    ]
    assert "someone-gone" not in json.dumps(data)
