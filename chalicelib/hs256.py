"""HS256 JSON Web Signatures in compact form (RFC 7515), the only kind Zoho's tokens use: verify
one with a set of keys, sign one with a key. The signature layer only; claims are the caller's.

Why not PyJWT here: importing PyJWT imports ``cryptography`` (for the asymmetric algorithms), which
is ~35 ms of every cold start of the Connection and Revoke URLs and the one cost between the service
and its cold-start budget (``make bench``, docs/performance.md). An HS256 signature is one
``hmac``/``hashlib`` call; what makes JWT libraries hard (choosing the algorithm and the key type
from the token) does not exist when the algorithm is fixed. PyJWT still verifies the sign-in
provider's ID tokens (``oidc.py``), and the tests hold this module to PyJWT as an oracle: whatever
this module accepts, PyJWT accepts with the same payload, and it signs byte for byte as PyJWT does
(``tests/unit/test_hs256.py``).

Stricter than PyJWT on purpose: a token has exactly one accepted spelling (base64url without
padding, canonical, so no unused bits set), because the single-use record is keyed by the token's
text and a second spelling of one token would be a second key. Header and payload must be JSON
objects of Unicode text (no unpaired surrogate escapes, which could not be stored or shown) without
duplicate names or non-finite numbers; ``crit`` and ``b64`` (RFC 7797: no extension is understood
here) and a non-string ``kid`` are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Collection, Mapping
from typing import Any

ALGORITHM = "HS256"
# The header we sign with; the same bytes PyJWT writes for ``headers={"typ": "JWT"}``.
_HEADER = json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":")).encode()
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


class JwsError(ValueError):
    """A token that is not an HS256 JWS signed by one of the keys. ``reason`` names the failure."""

    reason = "malformed_token"


class MalformedToken(JwsError):
    """Not three canonical base64url segments, or a header or payload that is not a JSON object."""


class WrongAlgorithm(JwsError):
    """The header names another algorithm than HS256 (or none)."""

    reason = "wrong_algorithm"


class BadSignature(JwsError):
    """Well formed, but no key signed it."""

    reason = "bad_signature"


def verify(token: str, keys: Collection[str]) -> dict[str, Any]:
    """The payload of ``token`` if one of ``keys`` signed it with HS256; else a ``JwsError``.

    ``keys``: the candidate keys, tried in order (never a single string: that would be a collection
    of one-letter keys). An empty key or one that is not Unicode text is a configuration error
    (``ValueError``, ``TypeError``), not a bad token. The header is read only to refuse any other
    algorithm; the payload is parsed only after the signature has been checked (in constant time
    per key).
    """
    secrets = _key_bytes(keys)
    segments = token.split(".")
    if len(segments) != 3:
        raise MalformedToken("a JWS has three segments")
    header_segment, payload_segment, signature_segment = segments
    header = _json_object(_decode(header_segment))
    signature = _decode(signature_segment)
    payload = _decode(payload_segment)
    if header.get("alg") != ALGORITHM:
        raise WrongAlgorithm(f"the algorithm must be {ALGORITHM}")
    if "crit" in header or "b64" in header or ("kid" in header and not isinstance(header["kid"], str)):
        raise MalformedToken("unsupported header")
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    if not any(hmac.compare_digest(hmac.digest(key, signing_input, hashlib.sha256), signature) for key in secrets):
        raise BadSignature("no key signed this token")
    return _json_object(payload)


def sign(payload: Mapping[str, Any], key: str) -> str:
    """``payload`` as a compact HS256 JWS with the header ``{"alg":"HS256","typ":"JWT"}``."""
    (secret,) = _key_bytes([key])
    signing_input = _encode(_HEADER) + b"." + _encode(json.dumps(payload, separators=(",", ":"), allow_nan=False).encode())
    return (signing_input + b"." + _encode(hmac.digest(secret, signing_input, hashlib.sha256))).decode("ascii")


def _key_bytes(keys: Collection[str]) -> list[bytes]:
    if isinstance(keys, str):
        raise TypeError("keys must be a collection of keys, not one string")
    secrets = []
    for key in keys:
        if not key:
            raise ValueError("an HS256 key must not be empty")
        try:
            secrets.append(key.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise ValueError("an HS256 key must be text; this one is not valid Unicode") from exc
    return secrets


def _encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _decode(segment: str) -> bytes:
    """A base64url segment in its one canonical spelling: no padding, no unused bits set."""
    if len(segment) % 4 == 1 or not _SEGMENT.fullmatch(segment):
        raise MalformedToken("not a base64url segment")
    raw = segment.encode("ascii")
    try:
        decoded = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the pattern and length exclude it
        raise MalformedToken("not a base64url segment") from exc
    if _encode(decoded) != raw:
        raise MalformedToken("not the canonical encoding")
    return decoded


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_names, parse_constant=_refuse_constant, parse_float=_finite_float)
        # Raw UTF-8 cannot carry a lone surrogate, but an escape can ("\ud800"): such text could
        # not be stored, logged or shown. Encoding it back finds one anywhere in the value.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError, ValueError, RecursionError) as exc:
        raise MalformedToken("not a JSON object") from exc
    if not isinstance(value, dict):
        raise MalformedToken("not a JSON object")
    return value


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise ValueError("duplicate names")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} does not fit a float")
    return number
