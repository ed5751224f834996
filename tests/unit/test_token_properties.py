"""Property tests of the token verifier: any input is either claims or an InvalidZohoToken."""

from __future__ import annotations

import base64
import json
import warnings

import jwt
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import InvalidZohoToken
from chalicelib.zoho_token import ZohoClaims, verify_zoho_token

KEY = "property-test-secret-key-32-bytes!!"
NOW_MS = 1_790_000_000_000
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


def outcome(token: str | None) -> ZohoClaims | None:
    try:
        return verify_zoho_token(token, [KEY], NOW_MS)
    except InvalidZohoToken:
        return None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=300), st.text(alphabet="abcXYZ019-_.=", max_size=300)))
def test_any_string_is_claims_or_refused(token: str | None) -> None:
    assert outcome(token) is None


@settings(max_examples=300, deadline=None)
@given(
    claims=st.dictionaries(st.sampled_from(["user_id", "organization_id", "organization_name", "exp", "jti", "iat"]), JSON, max_size=6),
    header=st.dictionaries(st.sampled_from(["alg", "typ", "kid", "crit"]), JSON, max_size=4),
)
def test_any_signed_payload_and_header_is_claims_or_refused(claims: dict[str, object], header: dict[str, object]) -> None:
    def b64(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        valid = jwt.encode(claims, KEY, algorithm="HS256")
    result = outcome(valid)
    if result is not None:
        assert all(isinstance(value, str) and value.strip() for value in (result.user_id, result.organization_id, result.organization_name))
        assert type(result.exp_ms) is int
    # The header is part of what is signed: any other header over the same signature is refused.
    if json.dumps(header) != json.dumps({"alg": "HS256", "typ": "JWT"}):
        assert outcome(f"{b64(header)}.{valid.split('.', 1)[1]}") is None
