"""The page's broker credentials (cloud/static/remote/tokens.js, under Node, a scripted store):
POST with the CSRF header and no caching, the JWT's subject as username, the token kept until
a fresh one is asked for, and readable errors when no home is left or the person signed out."""

from __future__ import annotations

from tests.cloud.remote.node import run_node_script


def test_credentials_come_from_the_token_url_and_are_renewed_on_demand():
    result = run_node_script("tokens_check.mjs")
    first = result["first"]
    assert (first["url"], first["username"]) == ("ws://broker/ws", "user-7")
    assert first["password"].count(".") == 2
    assert result["cached"] == 1  # the second call used the token it had
    assert result["fresh"]["password"] != first["password"]
    assert result["fresh"]["clientId"] == "web-" + "a" * 32
    assert result["no_home"] == {
        "error": "no home lets this account in any more",
        "signedOut": False,
    }
    assert result["signed_out"] == {"error": "you are signed out: sign in again", "signedOut": True}
    assert (
        result["asked"]
        == [{"url": "/home/broker-token", "method": "POST", "csrf": "csrf-1", "cache": "no-store"}]
        * 4
    )
    assert result["not_a_jwt"]["error"] == "the store's broker token is not a JWT"
