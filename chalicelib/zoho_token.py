"""Zoho's signed JWTs: verifying the ``jwttoken`` Zoho sends us, and signing the one we send back.

Signature and algorithm are checked by ``hs256`` with the algorithm fixed to HS256 (never read from
the token); the claims are checked here, one small function each, because Zoho counts ``exp`` in
*milliseconds* (a JWT library's ``exp`` check reads seconds and would never expire a Zoho token).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import hs256
from chalicelib.errors import ExpiredZohoToken, ForgedZohoToken, InvalidZohoToken

TOKEN_LIFETIME_MS = 3_600_000
# How far in the future an incoming exp may lie: Zoho issues tokens for one hour; a little more
# absorbs clock skew. Anything beyond is absurd and rejected.
MAX_EXP_AHEAD_MS = TOKEN_LIFETIME_MS + 5 * 60_000
# Leeway past exp, for clock skew between Zoho and us.
EXP_LEEWAY_MS = 30_000
# A Zoho token is ~300 bytes; anything far larger is not one (and is refused before any parsing).
MAX_TOKEN_LENGTH = 4096
IDENTITY_CLAIMS = ("user_id", "organization_id", "organization_name")
# In UTF-8 bytes, not characters: the org id is part of DynamoDB keys, which are limited in bytes
# (2048 for a partition key: "ORG#" + 512 four-byte characters would not fit).
MAX_CLAIM_BYTES = 512


def claim_fits(value: str) -> bool:
    """Whether an identity claim's value is within ``MAX_CLAIM_BYTES`` (and encodable at all)."""
    try:
        return len(value.encode("utf-8")) <= MAX_CLAIM_BYTES
    except UnicodeEncodeError:
        return False


@dataclass(frozen=True)
class ZohoClaims:
    """The identity Zoho vouches for. Built only from a verified token."""

    user_id: str
    organization_id: str
    organization_name: str
    exp_ms: int


def verify_zoho_token(token: str | None, keys: Collection[str], now_ms: int) -> ZohoClaims:
    """Verify Zoho's ``jwttoken`` and return its claims.

    ``keys``: candidate HS256 keys, tried in order (the current Secret Key first; a previous version
    during rotation). The algorithm is pinned to HS256 whatever the token's header says.
    Raises an ``InvalidZohoToken`` (or a subclass) with a precise ``reason``; never anything else.
    """
    if token is None or not token.strip():
        raise InvalidZohoToken("The link from Zoho carries no token. Open this page from Zoho's Connect or Revoke button.", reason="missing_token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidZohoToken(reason="oversized_token")
    payload = _verified_payload(token.strip(), keys)
    return ZohoClaims(
        user_id=_identity_claim(payload, "user_id"),
        organization_id=_identity_claim(payload, "organization_id"),
        organization_name=_identity_claim(payload, "organization_name"),
        exp_ms=_validate_exp(payload, now_ms),
    )


def _verified_payload(token: str, keys: Collection[str]) -> Mapping[str, Any]:
    try:
        return hs256.verify(token, keys)
    except hs256.BadSignature as exc:
        raise ForgedZohoToken() from exc
    except hs256.JwsError as exc:
        raise InvalidZohoToken(reason=exc.reason) from exc


def _identity_claim(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip() or not claim_fits(value):
        raise InvalidZohoToken(reason=f"bad_claim_{name}")
    return value


def _validate_exp(payload: Mapping[str, Any], now_ms: int) -> int:
    """``exp`` must be an integer count of milliseconds, not past (with leeway) and not absurdly far ahead."""
    exp = payload.get("exp")
    # bool is an int in Python; a float or a numeric string is not what Zoho sends.
    if isinstance(exp, bool) or not isinstance(exp, int):
        raise InvalidZohoToken(reason="bad_claim_exp")
    if exp + EXP_LEEWAY_MS <= now_ms:
        raise ExpiredZohoToken()
    if exp > now_ms + MAX_EXP_AHEAD_MS:
        raise InvalidZohoToken(reason="exp_too_far")
    return exp


def sign_connection_token(claims: ZohoClaims, *, key: str, extension_api_name: str, now_ms: int) -> str:
    """The ``X-Zoho-Signature`` JWT: the three identity claims copied verbatim, ``jti`` = the
    extension settings API name, ``exp`` = now + one hour in integer milliseconds."""
    payload = {
        "user_id": claims.user_id,
        "organization_id": claims.organization_id,
        "organization_name": claims.organization_name,
        "jti": extension_api_name,
        "exp": now_ms + TOKEN_LIFETIME_MS,
    }
    return hs256.sign(payload, key)
