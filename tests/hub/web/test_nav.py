"""The navigation bar offers integrations' pages only while their integration runs."""

from __future__ import annotations

from tests.hub.web.conftest import SignedIn


async def test_remote_access_is_not_offered_when_its_integration_is_not_loaded(
    owner: SignedIn,
) -> None:
    # This hub loads only mqtt: ethos_remote's page exists but answers 404.
    page = await owner.client.get("/")
    assert page.status == 200
    html = await page.text()
    assert 'id="nav-automations"' in html  # the bar is there...
    assert 'id="nav-remote"' not in html  # ...without a link to a page that is not
    assert (await owner.client.get("/remote")).status == 404
