"""Malformed bodies are the sender's mistake (400 with a reason, never a 500), personal
answers are never stored by caches, the Server header names no versions, and HSTS is sent
only when the hub is served over https."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.hub.web.conftest import SignedIn

FORM_ROUTES = [
    "/devices/none/rename",
    "/dashboards/home/edit",
    "/users/invitations",
    "/auth/offline",
    "/auth/link",
    "/auth/logout",
]
MALFORMED = {
    "multipart without a boundary": (b"csrf=x", "multipart/form-data"),
    "invalid UTF-8": (b"csrf=x&name=\xff\xfe\xfd", "application/x-www-form-urlencoded"),
    "a bogus charset": (b"csrf=x", "application/x-www-form-urlencoded; charset=bogus-9"),
    "broken multipart": (b"--b\r\nnonsense", "multipart/form-data; boundary=b"),
}


@pytest.mark.parametrize("route", FORM_ROUTES)
@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_malformed_form_bodies_get_400_with_a_reason(
    owner: SignedIn, route: str, kind: str
) -> None:
    body, content_type = MALFORMED[kind]
    answer = await owner.client.post(
        route, data=body, headers={"Content-Type": content_type}, allow_redirects=False
    )
    assert answer.status == 400, (route, kind, await answer.text())
    assert "cannot be read" in await answer.text()


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b"{not json", "application/json", "body must be JSON"),
        (b'{"service": "\xff"}', "application/json", "body must be JSON"),
        (b"[]", "application/json", "JSON object"),
        (b"{}", "application/json; charset=bogus-9", "unknown charset"),
    ],
)
async def test_bad_json_gets_400_with_a_reason(
    owner: SignedIn, body: bytes, content_type: str, says: str
) -> None:
    answer = await owner.client.post(
        "/api/entities/switch.none/command",
        data=body,
        headers={"Content-Type": content_type, "X-CSRF-Token": owner.principal.csrf_token},
    )
    assert answer.status == 400
    assert says in (await answer.json())["error"]


@pytest.mark.parametrize(
    "path", ["/devices", "/users", "/api/states", "/auth/link", "/auth/login", "/dashboards"]
)
async def test_personal_answers_are_never_cached_and_name_no_versions(
    owner: SignedIn, path: str
) -> None:
    answer = await owner.client.get(path, allow_redirects=False)
    assert answer.headers["Cache-Control"] == "no-store"
    server = answer.headers.get("Server", "")
    assert "aiohttp" not in server and "Python" not in server
    assert not any(ch.isdigit() for ch in server)
    assert "Strict-Transport-Security" not in answer.headers  # plain http on the LAN


async def test_static_assets_stay_cacheable(owner: SignedIn) -> None:
    answer = await owner.client.get("/static/hub.css")
    assert answer.status == 200 and answer.headers.get("Cache-Control") != "no-store"


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "hub.crt", tmp_path / "hub.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    client_context = ssl.create_default_context(cafile=str(cert_file))
    client_context.check_hostname = False
    return server_context, client_context


async def test_hsts_only_when_served_over_https(
    hub_app: web.Application,
    tmp_path: Path,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:
    server_context, client_context = _self_signed(tmp_path)
    server = await aiohttp_server(hub_app, ssl=server_context)
    url = str(server.make_url("/auth/login")).replace("http://", "https://", 1)
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(url, ssl=client_context, allow_redirects=False) as answer,
    ):
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        assert answer.headers["Cache-Control"] == "no-store"
