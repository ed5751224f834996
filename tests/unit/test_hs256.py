"""The HS256 signature layer, held to PyJWT as an oracle.

- Sound: whatever ``hs256.verify`` accepts, PyJWT's JWS layer accepts with the same payload.
- Complete: every token PyJWT signs with HS256 over a JSON object is accepted with that payload
  (unless its header carries ``crit``, refused here on purpose).
- Same output: ``hs256.sign`` writes byte for byte what ``jwt.encode`` writes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import hs256

KEY = "hs256-oracle-test-key-of-32-bytes!!"
OTHER_KEY = "another-key-that-did-not-sign-it-at-all"
TOKEN_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.+/ \n"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
PAYLOADS = st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=5)
# jwt.encode type-checks registered claims (iss must be a string, ...); hs256 leaves claims to its caller.
REGISTERED_CLAIMS = {"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}
SIGNABLE = PAYLOADS.filter(lambda payload: not REGISTERED_CLAIMS & payload.keys())
HEADERS = st.dictionaries(st.sampled_from(["typ", "kid", "cty", "x5t", "jku"]), st.text(max_size=10), max_size=3)


def pyjwt_sign(payload: dict[str, Any], key: str = KEY, headers: dict[str, Any] | None = None) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(payload, key, algorithm="HS256", headers=headers)


def pyjwt_payload(token: str, key: str = KEY) -> Any:
    """PyJWT's verdict at the JWS layer (signature, algorithm, header): the decoded payload, or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return json.loads(jwt.api_jws.decode_complete(token, key, algorithms=["HS256"])["payload"])
        except (jwt.PyJWTError, ValueError):
            return None


def ours(token: str, keys: tuple[str, ...] = (KEY,)) -> Any:
    try:
        return hs256.verify(token, keys)
    except hs256.JwsError:
        return None


def segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: bytes, payload: bytes, key: str = KEY) -> str:
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{segment(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())}"


@settings(max_examples=300, deadline=None)
@given(payload=SIGNABLE, headers=HEADERS)
def test_every_token_pyjwt_signs_is_accepted_with_its_payload(payload: dict[str, Any], headers: dict[str, Any]) -> None:
    token = pyjwt_sign(payload, headers=headers)
    assert ours(token) == payload == pyjwt_payload(token)
    assert ours(token, (OTHER_KEY, KEY)) == payload  # a rotated-out key first, the signing key second


@settings(max_examples=300, deadline=None)
@given(payload=SIGNABLE)
def test_signing_writes_what_pyjwt_writes(payload: dict[str, Any]) -> None:
    assert hs256.sign(payload, KEY) == pyjwt_sign(payload, headers={"typ": "JWT"})


@settings(max_examples=500, deadline=None)
@given(
    payload=SIGNABLE,
    edits=st.lists(
        st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(min_value=0, max_value=10_000), st.sampled_from(TOKEN_CHARACTERS)),
        min_size=1,
        max_size=3,
    ),
)
def test_whatever_is_accepted_pyjwt_accepts_with_the_same_payload(payload: dict[str, Any], edits: list[tuple[str, int, str]]) -> None:
    token = pyjwt_sign(payload)
    for operation, position, character in edits:
        index = position % (len(token) + 1)
        if operation == "insert":
            token = token[:index] + character + token[index:]
        elif operation == "delete":
            token = token[:index] + token[index + 1 :]
        else:
            token = token[:index] + character + token[index + 1 :]
    accepted = ours(token)
    if accepted is not None:
        assert pyjwt_payload(token) == accepted


@settings(max_examples=300, deadline=None)
@given(
    alg=st.one_of(st.just("HS256"), JSON_VALUES),
    header=st.dictionaries(st.sampled_from(["typ", "kid", "crit", "b64", "cty", "zip"]), JSON_VALUES | st.just([]) | st.just(["b64"]), max_size=3),
    payload=PAYLOADS,
)
def test_any_header_is_either_a_pyjwt_accepted_one_or_refused(alg: Any, header: dict[str, Any], payload: dict[str, Any]) -> None:
    token = hand_signed(json.dumps({"alg": alg, **header}).encode(), json.dumps(payload).encode())
    accepted = ours(token)
    ACCEPTED_HEADERS.append(accepted is not None)
    if accepted is not None:
        assert alg == "HS256"
        assert pyjwt_payload(token) == accepted == payload


ACCEPTED_HEADERS: list[bool] = []


def test_the_header_property_exercised_both_verdicts() -> None:
    """The property above proves nothing about acceptance if it never generated an accepted header."""
    if not ACCEPTED_HEADERS:
        test_any_header_is_either_a_pyjwt_accepted_one_or_refused()
    assert ACCEPTED_HEADERS.count(True) >= 30
    assert ACCEPTED_HEADERS.count(False) >= 30


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.binary(max_size=64))
def test_arbitrary_bytes_signed_with_the_key_are_a_json_object_or_refused(header: bytes, payload: bytes) -> None:
    accepted = ours(hand_signed(b'{"alg":"HS256"}', payload))
    if accepted is not None:
        assert isinstance(accepted, dict)
        assert accepted == json.loads(payload)
    assert ours(hand_signed(header, payload)) is None or json.loads(header).get("alg") == "HS256"


@pytest.mark.parametrize(
    ("header", "payload", "error"),
    [
        pytest.param(b'{"alg":"HS256","alg":"none"}', b"{}", hs256.MalformedToken, id="duplicate header name"),
        pytest.param(b'{"alg":"HS256"}', b'{"sub":"a","sub":"b"}', hs256.MalformedToken, id="duplicate payload name"),
        pytest.param(b'{"alg":"HS256","crit":["exp"],"exp":1}', b"{}", hs256.MalformedToken, id="crit"),
        pytest.param(b'{"alg":"HS256","crit":["b64"],"b64":false}', b"{}", hs256.MalformedToken, id="unencoded payload"),
        pytest.param(b'{"alg":"HS256","b64":false}', b"{}", hs256.MalformedToken, id="b64 without crit"),
        pytest.param(b'{"alg":"HS256","b64":true}', b"{}", hs256.MalformedToken, id="b64 true"),
        pytest.param(b'{"alg":"HS256"}', b'{"exp":1e999}', hs256.MalformedToken, id="a number too large for a float"),
        pytest.param(b'{"alg":"HS256"}', b'{"organization_name":"Acme\\ud800"}', hs256.MalformedToken, id="lone surrogate in a value"),
        pytest.param(b'{"alg":"HS256"}', b'{"\\udfff":"x"}', hs256.MalformedToken, id="lone surrogate in a name"),
        pytest.param(b'{"alg":"HS256","kid":"\\ud800"}', b"{}", hs256.MalformedToken, id="lone surrogate in the header"),
        pytest.param(b'{"alg":"HS256"}', b'{"a":[[1,["\\udc00"]]]}', hs256.MalformedToken, id="lone surrogate deep in lists"),
        pytest.param(b'{"alg":"HS256","kid":7}', b"{}", hs256.MalformedToken, id="kid not a string"),
        pytest.param(b'{"alg":"HS256"}', b'{"exp":NaN}', hs256.MalformedToken, id="NaN"),
        pytest.param(b'{"alg":"HS256"}', b'{"exp":-Infinity}', hs256.MalformedToken, id="Infinity"),
        pytest.param(b'{"alg":"HS256"}', b'{"name":"\xff"}', hs256.MalformedToken, id="not UTF-8"),
        pytest.param(b'{"alg":"HS256"}', b"[" * 3000 + b"]" * 3000, hs256.MalformedToken, id="deeply nested"),
        pytest.param(b'{"alg":"HS256"}', b'"a string"', hs256.MalformedToken, id="payload not an object"),
        pytest.param(b'["HS256"]', b"{}", hs256.MalformedToken, id="header not an object"),
        pytest.param(b'{"alg":"hs256"}', b"{}", hs256.WrongAlgorithm, id="alg in lower case"),
        pytest.param(b'{"alg":"HS384"}', b"{}", hs256.WrongAlgorithm, id="another HMAC"),
        pytest.param(b'{"alg":["HS256"]}', b"{}", hs256.WrongAlgorithm, id="alg a list"),
        pytest.param(b'{"typ":"JWT"}', b"{}", hs256.WrongAlgorithm, id="no alg"),
    ],
)
def test_signed_but_unacceptable_tokens_are_refused_with_their_reason(header: bytes, payload: bytes, error: type[hs256.JwsError]) -> None:
    with pytest.raises(error) as caught:
        hs256.verify(hand_signed(header, payload), [KEY])
    assert type(caught.value) is error


def test_a_signature_by_no_offered_key_is_a_bad_signature() -> None:
    token = pyjwt_sign({"a": 1}, key=OTHER_KEY)
    with pytest.raises(hs256.BadSignature) as caught:
        hs256.verify(token, [KEY])
    assert caught.value.reason == "bad_signature"
    with pytest.raises(hs256.BadSignature):
        hs256.verify(token, [])


def test_an_empty_signing_key_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        hs256.sign({"a": 1}, "")


def test_an_empty_verification_key_is_a_configuration_error() -> None:
    token = hand_signed(b'{"alg":"HS256"}', b"{}", key="")
    with pytest.raises(ValueError, match="must not be empty"):
        hs256.verify(token, [""])


def test_one_key_passed_as_a_string_is_not_taken_for_a_list_of_one_letter_keys() -> None:
    token = hand_signed(b'{"alg":"HS256"}', b"{}", key="s")
    with pytest.raises(TypeError, match="a collection of keys"):
        hs256.verify(token, "secret")


def test_a_key_that_is_not_unicode_text_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="not valid Unicode"):
        hs256.verify(pyjwt_sign({"a": 1}), ["\ud800abc", KEY])
