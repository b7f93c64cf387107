"""TOTP (RFC 6238) as authenticator apps compute it: the RFC's own test vectors."""

from __future__ import annotations

from cloud.admin import totp

RFC_SECRET = b"12345678901234567890"  # RFC 6238 appendix B, the HMAC-SHA1 key


def test_codes_match_rfc_6238_sha1_vectors():
    vectors = {
        59: "94287082",
        1111111109: "07081804",
        1111111111: "14050471",
        1234567890: "89005924",
        2000000000: "69279037",
        20000000000: "65353130",
    }
    for at, expected in vectors.items():
        assert totp.hotp(RFC_SECRET, totp.time_step(at), digits=8) == expected, at


def test_a_code_is_good_one_step_either_side_and_never_twice():
    at = 1_700_000_000.0
    step = totp.time_step(at)
    previous = totp.code_at(RFC_SECRET, at - 30)
    assert totp.matching_step(RFC_SECRET, previous, 0, at) == step - 1
    assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, at + 30), 0, at) == step + 1
    assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, at - 60), 0, at) is None
    # Once a step was accepted, its code (and older ones) are refused.
    assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, at), step, at) is None
    assert totp.matching_step(RFC_SECRET, "12345", 0, at) is None
    assert totp.matching_step(RFC_SECRET, "abcdef", 0, at) is None


def test_the_provisioning_uri_names_the_issuer_account_and_secret():
    uri = totp.provisioning_uri(RFC_SECRET, "op@example.org")
    assert uri.startswith("otpauth://totp/Ethos%20store:op@example.org?")
    assert f"secret={totp.secret_text(RFC_SECRET)}" in uri
    assert "issuer=Ethos+store" in uri and "period=30" in uri
