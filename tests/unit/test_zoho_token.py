"""Verifying Zoho's jwttoken and signing our X-Zoho-Signature token."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Callable

import jwt
import pytest

from chalicelib.errors import ExpiredZohoToken, ForgedZohoToken, InvalidZohoToken
from chalicelib.zoho_token import (
    EXP_LEEWAY_MS,
    MAX_EXP_AHEAD_MS,
    TOKEN_LIFETIME_MS,
    ZohoClaims,
    sign_connection_token,
    verify_zoho_token,
)

KEY = "extension-secret-key-of-at-least-32-bytes"
NOW_MS = 1_790_000_000_000
CLAIMS = {"user_id": "4000000012345", "organization_id": "60012345678", "organization_name": "Zylker"}


def zoho_token(key: str = KEY, algorithm: str = "HS256", **overrides: object) -> str:
    payload = {**CLAIMS, "exp": NOW_MS + TOKEN_LIFETIME_MS, **overrides}
    payload = {name: value for name, value in payload.items() if value is not _MISSING}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(payload, key, algorithm=algorithm, headers={"typ": "JWT"})


_MISSING = object()


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_signed_by_zoho_gives_its_claims() -> None:
    claims = verify_zoho_token(zoho_token(), [KEY], NOW_MS)
    assert claims == ZohoClaims(user_id="4000000012345", organization_id="60012345678", organization_name="Zylker", exp_ms=NOW_MS + TOKEN_LIFETIME_MS)


def test_a_previous_key_still_verifies_when_offered_second() -> None:
    claims = verify_zoho_token(zoho_token(key="previous-key-" + "x" * 30), [KEY, "previous-key-" + "x" * 30], NOW_MS)
    assert claims.organization_id == "60012345678"


@pytest.mark.parametrize(
    ("token", "error", "reason"),
    [
        (None, InvalidZohoToken, "missing_token"),
        ("", InvalidZohoToken, "missing_token"),
        ("   ", InvalidZohoToken, "missing_token"),
        ("not-a-jwt", InvalidZohoToken, "malformed_token"),
        ("a.b.c", InvalidZohoToken, "malformed_token"),
        ("x" * 5000, InvalidZohoToken, "oversized_token"),
    ],
)
def test_garbage_is_refused_with_a_reason(token: str | None, error: type[Exception], reason: str) -> None:
    with pytest.raises(error) as caught:
        verify_zoho_token(token, [KEY], NOW_MS)
    assert caught.value.reason == reason  # type: ignore[attr-defined]


def test_alg_none_is_refused() -> None:
    unsigned = f"{b64({'typ': 'JWT', 'alg': 'none'})}.{b64({**CLAIMS, 'exp': NOW_MS + 1000})}."
    with pytest.raises(InvalidZohoToken) as caught:
        verify_zoho_token(unsigned, [KEY], NOW_MS)
    assert caught.value.reason == "wrong_algorithm"


def test_another_hmac_algorithm_is_refused() -> None:
    with pytest.raises(InvalidZohoToken) as caught:
        verify_zoho_token(zoho_token(algorithm="HS512"), [KEY], NOW_MS)
    assert caught.value.reason == "wrong_algorithm"


def test_a_header_claiming_hs256_over_another_signature_is_refused() -> None:
    header, payload, _ = zoho_token().split(".")
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(b'0' * 32).rstrip(b'=').decode()}"
    with pytest.raises(ForgedZohoToken) as caught:
        verify_zoho_token(forged, [KEY], NOW_MS)
    assert (caught.value.reason, caught.value.status) == ("bad_signature", 401)


def test_a_wrong_key_is_refused() -> None:
    with pytest.raises(ForgedZohoToken):
        verify_zoho_token(zoho_token(key="some-other-key-" + "y" * 30), [KEY], NOW_MS)


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = zoho_token().split(".")
    tampered = f"{header}.{b64({**CLAIMS, 'organization_id': '999', 'exp': NOW_MS + 1000})}.{signature}"
    with pytest.raises(ForgedZohoToken):
        verify_zoho_token(tampered, [KEY], NOW_MS)


def test_expired_millisecond_exp_is_refused() -> None:
    with pytest.raises(ExpiredZohoToken) as caught:
        verify_zoho_token(zoho_token(exp=NOW_MS - EXP_LEEWAY_MS - 1), [KEY], NOW_MS)
    assert (caught.value.reason, caught.value.status) == ("token_expired", 401)


def test_exp_within_the_leeway_is_accepted() -> None:
    assert verify_zoho_token(zoho_token(exp=NOW_MS - EXP_LEEWAY_MS + 1), [KEY], NOW_MS).exp_ms == NOW_MS - EXP_LEEWAY_MS + 1


def test_exp_in_seconds_reads_as_long_expired() -> None:
    with pytest.raises(ExpiredZohoToken):
        verify_zoho_token(zoho_token(exp=NOW_MS // 1000 + 3600), [KEY], NOW_MS)


def test_far_future_exp_is_refused() -> None:
    with pytest.raises(InvalidZohoToken) as caught:
        verify_zoho_token(zoho_token(exp=NOW_MS + MAX_EXP_AHEAD_MS + 1), [KEY], NOW_MS)
    assert caught.value.reason == "exp_too_far"


@pytest.mark.parametrize("exp", [str(NOW_MS + 1000), float(NOW_MS + 1000), True, None, [NOW_MS], _MISSING])
def test_exp_that_is_not_an_integer_is_refused(exp: object) -> None:
    with pytest.raises(InvalidZohoToken) as caught:
        verify_zoho_token(zoho_token(exp=exp), [KEY], NOW_MS)
    assert caught.value.reason == "bad_claim_exp"


@pytest.mark.parametrize("claim", ["user_id", "organization_id", "organization_name"])
@pytest.mark.parametrize("value", [_MISSING, None, 123, "", "  ", ["a"], {"a": 1}, "x" * 513])
def test_identity_claims_must_be_non_empty_strings(claim: str, value: object) -> None:
    with pytest.raises(InvalidZohoToken) as caught:
        verify_zoho_token(zoho_token(**{claim: value}), [KEY], NOW_MS)
    assert caught.value.reason == f"bad_claim_{claim}"


def test_a_short_key_works_without_a_warning_turning_into_an_error() -> None:
    # pytest runs with warnings as errors (pyproject): PyJWT warns about keys under 32 bytes.
    token = zoho_token(key="short")
    assert verify_zoho_token(token, ["short"], NOW_MS).user_id == "4000000012345"


def test_our_token_copies_the_claims_and_adds_jti_and_ms_exp() -> None:
    claims = ZohoClaims(user_id="u-1", organization_id="o-1", organization_name='Zylker <&> "Ltd"', exp_ms=NOW_MS + 10)
    token = sign_connection_token(claims, key=KEY, extension_api_name="pu_com_acme", now_ms=NOW_MS)
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert payload == {
        "user_id": "u-1",
        "organization_id": "o-1",
        "organization_name": 'Zylker <&> "Ltd"',
        "jti": "pu_com_acme",
        "exp": NOW_MS + 3_600_000,
    }
    assert type(payload["exp"]) is int


def _flip_unused_bits(token: str) -> str:
    """The last character of a 32-byte signature carries 4 bits of it and 2 unused (zero) bits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]


@pytest.mark.parametrize(
    "respell",
    [
        pytest.param(lambda token: token + "=", id="signature padded"),
        pytest.param(lambda token: token + "==", id="signature over-padded"),
        pytest.param(lambda token: token.replace(".", "=.", 1), id="header padded"),
        pytest.param(_flip_unused_bits, id="unused bits set"),
        pytest.param(lambda token: token.replace("_", "/"), id="standard base64 alphabet"),
        pytest.param(lambda token: token.replace(".", ". ", 1), id="space inside"),
    ],
)
def test_a_valid_token_has_exactly_one_accepted_spelling(respell: Callable[[str], str]) -> None:
    """The single-use record is keyed by the token's text: a second accepted spelling of one token
    would be a second key, and a replay in that spelling would pass."""
    token = zoho_token()
    assert verify_zoho_token(token, [KEY], NOW_MS).organization_id == "60012345678"
    variant = respell(token)
    assert variant != token
    with pytest.raises(InvalidZohoToken) as caught:
        verify_zoho_token(variant, [KEY], NOW_MS)
    assert caught.value.reason == "malformed_token"


@pytest.mark.parametrize(("value", "accepted"), [("\U0001f600" * 128, True), ("\U0001f600" * 128 + "x", False), ("6" * 512, True), ("6" * 513, False)])
def test_identity_claims_are_limited_in_utf8_bytes(value: str, accepted: bool) -> None:
    token = zoho_token(organization_id=value)
    if accepted:
        assert verify_zoho_token(token, [KEY], NOW_MS).organization_id == value
    else:
        with pytest.raises(InvalidZohoToken) as caught:
            verify_zoho_token(token, [KEY], NOW_MS)
        assert caught.value.reason == "bad_claim_organization_id"
