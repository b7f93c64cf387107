"""schemathesis against the store's own OpenAPI document, with every check it has.

Three callers: anonymous, a signed-in browser session and a bearer token holding every
scope. schemathesis runs as its own process (its CLI) against the store served on a real
port, with a fixed seed so a failure reproduces; its report is printed when it fails.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.cloud.oauth.conftest import Provider
from tests.support.oidc_client import OidcClient, StoreBrowser

SEED = "20261204"
CONFIG = Path(__file__).with_name("schemathesis.toml")  # signup's 422 for a weak password
MAX_EXAMPLES = "40"
EVERY_SCOPE = "openid profile email devices orders"


async def _schemathesis(provider: Provider, tmp_path: Path, *headers: str) -> None:
    args = [
        "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
        f"{provider.base_url}/api/v1/openapi.json",
        "--checks", "all", "--max-examples", MAX_EXAMPLES, "--seed", SEED, "--workers", "1",
        "--request-timeout", "20", "--suppress-health-check", "too_slow",
    ]  # fmt: skip
    for header in headers:
        args += ["-H", header]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    assert process.returncode == 0, f"schemathesis found problems:\n{report[-12000:]}"


async def test_anonymous_callers_find_no_server_error_or_contract_breach(
    provider: Provider, tmp_path: Path
) -> None:
    await _schemathesis(provider, tmp_path)


async def test_a_signed_in_session_finds_no_server_error_or_contract_breach(
    provider: Provider, browser: StoreBrowser, signed_in: str, tmp_path: Path
) -> None:
    session = browser.http.cookies.get("ethos_session")
    assert session, "signing in set no session cookie"
    await _schemathesis(provider, tmp_path, f"Cookie: ethos_session={session}")


async def test_a_bearer_token_with_every_scope_finds_no_server_error_or_contract_breach(
    provider: Provider, browser: StoreBrowser, signed_in: str, mobile: OidcClient, tmp_path: Path
) -> None:
    request = await mobile.authorization_request(EVERY_SCOPE)
    callback = await browser.authorize(request.url, provider.mobile_redirect_uri)
    tokens = await mobile.exchange_code(callback, request)
    await _schemathesis(provider, tmp_path, f"Authorization: Bearer {tokens.access_token}")


pytestmark = pytest.mark.timeout(600)
