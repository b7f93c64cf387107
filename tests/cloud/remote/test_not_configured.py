"""Without a broker configured remote access is off: the API says so, the page too."""

from __future__ import annotations

import pytest

from cloud.remote.settings import RemoteSettings
from cloud.web.middleware import CONTENT_SECURITY_POLICY
from tests.cloud.remote.conftest import HUB_SESSION


@pytest.fixture
def remote_settings() -> RemoteSettings:
    return RemoteSettings()


async def test_the_hub_session_answers_remote_unavailable(provider, http, hub):
    response = await http.post(
        provider.base_url + HUB_SESSION, json={"enabled": True, "members": []}, auth=hub.auth
    )
    assert response.status_code == 503
    assert response.json()["error"] == "remote_unavailable"


async def test_the_page_says_remote_access_is_not_configured(browser, signed_in):
    response = await browser.http.get("/home")
    assert response.status_code == 200
    assert "Remote access is not configured on this store" in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    await browser.http.get("/home")
    csrf = response.text.split('data-csrf="', 1)[1].split('"', 1)[0]
    token = await browser.http.post("/home/broker-token", headers={"X-CSRF-Token": csrf})
    assert token.status_code == 503
    assert token.json()["error"] == "remote_unavailable"
