"""Authorization code with PKCE, ID tokens, userinfo and bearer access to the store's API."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from cloud.db import utcnow
from cloud.oauth.models import AuthorizationCode
from cloud.web.keys import DB
from tests.cloud.common import PASSWORD, csrf_from
from tests.support.oidc_client import IdTokenError, OidcClient, OidcError, StoreBrowser

SCOPE = "openid profile email devices"


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def _code(browser: StoreBrowser, client: OidcClient, scope: str = SCOPE):
    request = await client.authorization_request(scope)
    callback = await browser.authorize(request.url, client.redirect_uri or "")
    return request, callback


async def test_mobile_app_signs_in_with_code_and_pkce(provider, browser, signed_in, mobile, http):
    request, callback = await _code(browser, mobile)
    assert _query(callback)["state"] == request.state
    tokens = await mobile.exchange_code(callback, request)

    assert tokens.expires_in == 300  # five minutes, not Authlib's default of ten days
    assert tokens.refresh_token and tokens.scope.split() == SCOPE.split()
    claims = tokens.id_claims
    assert claims["email"] == signed_in and claims["email_verified"] is True
    assert claims["iss"] == provider.base_url and claims["nonce"] == request.nonce

    # Independently of the reference client: joserfc against the published JWKS.
    jwks = KeySet.import_key_set((await http.get(f"{provider.base_url}/oauth/jwks")).json())
    verified = jwt.decode(tokens.id_token, jwks, ["RS256"])
    assert verified.header["alg"] == "RS256"
    assert verified.claims["sub"] == claims["sub"] and verified.claims["aud"] == [mobile.client_id]

    info = await mobile.userinfo(tokens.access_token)
    assert info == {
        "sub": claims["sub"],
        "email": signed_in,
        "email_verified": True,
        "preferred_username": signed_in,
    }
    me = await http.get(
        f"{provider.base_url}/api/v1/me",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert me.status_code == 200 and me.json()["email"] == signed_in


async def test_userinfo_releases_only_what_the_scope_allows(browser, signed_in, mobile):
    request, callback = await _code(browser, mobile, "openid")
    tokens = await mobile.exchange_code(callback, request)
    assert "email" not in tokens.id_claims
    assert set(await mobile.userinfo(tokens.access_token)) == {"sub"}


async def test_a_token_without_the_scope_is_refused_by_the_api(
    provider, browser, signed_in, mobile, http
):
    request, callback = await _code(browser, mobile, "openid email")
    tokens = await mobile.exchange_code(callback, request)
    me = await http.get(
        f"{provider.base_url}/api/v1/me",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert me.status_code == 403
    assert "profile" in me.json()["error"]


async def test_signing_in_at_the_store_continues_the_authorization(
    provider, browser, unique_id, mobile
):
    email = await provider.new_account(f"later-{unique_id}@example.org")
    request = await mobile.authorization_request(SCOPE)
    first = await browser.http.get(request.url)
    assert first.status_code == 303
    login = first.headers["location"]
    assert login.startswith("/account/login?")
    target = _query(login)["next"]
    assert target.startswith("/oauth/authorize?")

    page = await browser.http.get(login)
    token = csrf_from(page.text)
    response = await browser.http.post(
        "/account/login",
        data={"email": email, "password": PASSWORD, "next": target, "csrf_token": token},
    )
    back = response.headers["location"]
    assert response.status_code == 303 and back.startswith("/oauth/authorize?")
    assert _query(back) == _query(target) == _query(request.url)
    callback = await browser.authorize(provider.base_url + back, mobile.redirect_uri)
    tokens = await mobile.exchange_code(callback, request)
    assert tokens.id_claims["email"] == email


async def test_unconfirmed_accounts_cannot_sign_in(provider, browser, unique_id):
    from tests.cloud.common import sign_up

    email = f"unconfirmed-{unique_id}@example.org"
    await sign_up(provider.client, email)
    with pytest.raises(AssertionError, match="sign-in refused"):
        await browser.sign_in(email, PASSWORD)


# Bad input at /authorize


async def test_a_public_client_without_pkce_is_refused_at_authorize(browser, signed_in, mobile):
    request = await mobile.authorization_request(SCOPE)
    params = _query(request.url)
    del params["code_challenge"], params["code_challenge_method"]
    url = request.url.split("?")[0] + "?" + urlencode(params)
    response = await browser.http.get(url)
    assert response.status_code == 302
    answer = _query(response.headers["location"])
    assert response.headers["location"].startswith(mobile.redirect_uri)
    assert answer["error"] == "invalid_request" and "code" not in answer
    assert answer["state"] == request.state


async def test_the_plain_pkce_method_is_refused(browser, signed_in, mobile):
    request = await mobile.authorization_request(SCOPE)
    params = _query(request.url) | {"code_challenge_method": "plain"}
    response = await browser.http.get(request.url.split("?")[0] + "?" + urlencode(params))
    answer = _query(response.headers["location"])
    assert answer["error"] == "invalid_request" and "code" not in answer


UNTRUSTED_REQUESTS = [
    ({"client_id": "no-such-client"}, "does not exist"),
    ({"redirect_uri": "https://evil.example/callback"}, "not supported"),
    ({"redirect_uri": None}, "redirect_uri"),
]


async def test_unknown_client_or_redirect_shows_an_error_page_and_never_redirects(
    browser, signed_in, mobile
):
    request = await mobile.authorization_request(SCOPE)
    for change, message in UNTRUSTED_REQUESTS:
        params = _query(request.url)
        for key, value in change.items():
            if value is None:
                params.pop(key)
            else:
                params[key] = value
        response = await browser.http.get(request.url.split("?")[0] + "?" + urlencode(params))
        assert response.status_code == 400, change
        assert "location" not in response.headers
        assert "text/html" in response.headers["content-type"]
        assert message in response.text


async def test_a_redirect_uri_that_only_starts_like_the_registered_one_is_refused(
    browser, signed_in, mobile
):
    request = await mobile.authorization_request(SCOPE)
    params = _query(request.url) | {"redirect_uri": mobile.redirect_uri + "/../evil"}
    response = await browser.http.get(request.url.split("?")[0] + "?" + urlencode(params))
    assert response.status_code == 400 and "location" not in response.headers


async def test_asking_for_a_scope_the_client_may_not_have_is_refused(browser, signed_in, mobile):
    request = await mobile.authorization_request("openid hub.register")
    response = await browser.http.get(request.url)
    answer = _query(response.headers["location"])
    assert answer["error"] == "invalid_scope" and "code" not in answer


# Bad input at /token


async def test_a_wrong_verifier_gets_invalid_grant_and_no_token(browser, signed_in, mobile):
    request, callback = await _code(browser, mobile)
    code = _query(callback)["code"]
    with pytest.raises(OidcError) as refused:
        await mobile.token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": mobile.redirect_uri,
                "code_verifier": "x" * 64,
            }
        )
    assert refused.value.error == "invalid_grant"
    # The code was not spent by the failed attempt: the right verifier still works once.
    tokens = await mobile.exchange_code(callback, request)
    assert tokens.access_token


async def test_a_missing_verifier_is_an_invalid_request(browser, signed_in, mobile):
    _, callback = await _code(browser, mobile)
    with pytest.raises(OidcError) as refused:
        await mobile.token_request(
            {
                "grant_type": "authorization_code",
                "code": _query(callback)["code"],
                "redirect_uri": mobile.redirect_uri,
            }
        )
    assert refused.value.error == "invalid_request"


async def test_a_reused_code_is_refused_and_revokes_what_it_gave(browser, signed_in, mobile):
    request, callback = await _code(browser, mobile)
    tokens = await mobile.exchange_code(callback, request)
    assert (await mobile.userinfo(tokens.access_token))["email"] == signed_in
    with pytest.raises(OidcError) as refused:
        await mobile.exchange_code(callback, request)
    assert refused.value.error == "invalid_grant"
    with pytest.raises(OidcError) as revoked:
        await mobile.userinfo(tokens.access_token)
    assert revoked.value.status == 401
    with pytest.raises(OidcError):
        await mobile.refresh(tokens.refresh_token)


async def test_an_expired_code_is_refused(provider, browser, signed_in, mobile):
    request, callback = await _code(browser, mobile)
    async with provider.app[DB]() as session, session.begin():
        await session.execute(
            update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(OidcError) as refused:
        await mobile.exchange_code(callback, request)
    assert refused.value.error == "invalid_grant"


async def test_a_code_is_bound_to_its_redirect_uri(browser, signed_in, mobile):
    request, callback = await _code(browser, mobile)
    with pytest.raises(OidcError) as refused:
        await mobile.token_request(
            {
                "grant_type": "authorization_code",
                "code": _query(callback)["code"],
                "redirect_uri": mobile.redirect_uri + "?x=1",
                "code_verifier": request.code_verifier,
            }
        )
    assert refused.value.error == "invalid_grant"


async def test_an_unknown_client_at_the_token_endpoint_is_invalid_client(provider, http):
    response = await http.post(
        f"{provider.base_url}/oauth/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": "nobody"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


async def test_garbage_at_the_token_endpoint_gets_an_oauth_error_not_a_crash(provider, http):
    for body in (b"\xff\xfe", b"grant_type=password&username=a&password=b", b""):
        response = await http.post(
            f"{provider.base_url}/oauth/token",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 400, body
        assert response.json()["error"] in ("unsupported_grant_type", "invalid_request")
    response = await http.post(f"{provider.base_url}/oauth/token", json={"grant_type": "x"})
    assert response.status_code == 400


# Forged tokens


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_tampered_and_unsigned_id_tokens_are_refused(
    provider, browser, signed_in, mobile, http
):
    request, callback = await _code(browser, mobile)
    tokens = await mobile.exchange_code(callback, request)
    header, payload, signature = tokens.id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered = ".".join(
        [header, _b64(claims | {"sub": "1", "email": "boss@example.org"}), signature]
    )
    unsigned = ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64(claims), ""])

    for forged in (tampered, unsigned):
        with pytest.raises(IdTokenError):
            await mobile.verify_id_token(forged)
        # Presented as a bearer token, a JWT is not an access token of ours.
        for path in ("/oauth/userinfo", "/api/v1/me"):
            response = await http.get(
                provider.base_url + path, headers={"Authorization": f"Bearer {forged}"}
            )
            assert response.status_code == 401, path
            assert "invalid_token" in response.headers["www-authenticate"]
    # The genuine ID token is not an access token either.
    response = await http.get(
        f"{provider.base_url}/oauth/userinfo",
        headers={"Authorization": f"Bearer {tokens.id_token}"},
    )
    assert response.status_code == 401


async def test_userinfo_without_a_token_asks_for_one(provider, http):
    response = await http.get(f"{provider.base_url}/oauth/userinfo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
