"""The two JWTs of the External Connections protocol, as Zoho signs and checks them.

Zoho → service: ``?jwttoken=`` on the Connection and Revoke URLs (``mint_zoho_token``).
Service → Zoho: the ``X-Zoho-Signature`` header of the PUT (``verify_extension_signature``).
Both are HS256 with the extension's Secret Key, and both carry ``exp`` in **milliseconds**.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import jwt

ZOHO_ALGORITHM: Final = "HS256"
TOKEN_LIFETIME_MS: Final = 3_600_000
# Zoho's clock and the service's drift apart; allow a few seconds beyond the documented hour.
EXP_LEEWAY_MS: Final = 5_000
IDENTITY_CLAIMS: Final = ("user_id", "organization_id", "organization_name")

# Only the signature is PyJWT's job: it would read exp as seconds, and Zoho documents no
# iat/nbf/aud/iss/sub, so every claim rule below is the sandbox's own.
_SIGNATURE_ONLY: Final[Any] = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


@contextmanager
def _short_keys_tolerated() -> Iterator[None]:
    # The Secret Key is whatever Zoho generated or the developer configured; PyJWT's key-length
    # advice would only drown the output of every test that uses a short one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        yield


def mint_zoho_token(
    secret_key: str,
    *,
    organization_id: str,
    organization_name: str,
    user_id: str,
    now_ms: int,
) -> str:
    """The token Zoho appends to the Connection and Revoke URLs, valid for one hour."""
    payload = {
        "user_id": user_id,
        "organization_id": organization_id,
        "organization_name": organization_name,
        "exp": now_ms + TOKEN_LIFETIME_MS,
    }
    with _short_keys_tolerated():
        return jwt.encode(payload, secret_key, algorithm=ZOHO_ALGORITHM, headers={"typ": "JWT"})


class SignatureRejectedError(Exception):
    """An ``X-Zoho-Signature`` Zoho would refuse; ``reason`` names the first rule it broke.

    ``claims`` holds the payload when the signature itself was good, to help debugging.
    """

    def __init__(self, reason: str, claims: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claims = claims


def verify_extension_signature(
    token: str,
    *,
    secret_key: str,
    extension_api_name: str,
    organization_id: str,
    now_ms: int,
) -> dict[str, Any]:
    """The claims of a valid ``X-Zoho-Signature`` for ``organization_id``.

    :param organization_id: the ``organization_id`` query parameter of the PUT; the token's
        claim must name the same organisation.
    :raises SignatureRejectedError: the token is malformed, not HS256 (checked before the
        signature, so ``none`` or RS256 tokens are refused, never tried), badly signed, or its
        claims break Zoho's rules.
    """
    claims = _verified_claims(token, secret_key)
    problem = (
        _identity_claims_problem(claims)
        or _jti_problem(claims, extension_api_name)
        or _exp_problem(claims, now_ms)
        or _organization_problem(claims, organization_id)
    )
    if problem is not None:
        raise SignatureRejectedError(problem, claims)
    return claims


def _verified_claims(token: str, secret_key: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise SignatureRejectedError("malformed_token") from exc
    if header.get("alg") != ZOHO_ALGORITHM:
        raise SignatureRejectedError("wrong_algorithm")
    try:
        with _short_keys_tolerated():
            return jwt.decode(token, secret_key, algorithms=[ZOHO_ALGORITHM], options=_SIGNATURE_ONLY)
    # InvalidSignatureError subclasses DecodeError, so it has to come first.
    except jwt.InvalidSignatureError as exc:
        raise SignatureRejectedError("bad_signature") from exc
    except jwt.DecodeError as exc:
        raise SignatureRejectedError("malformed_token") from exc
    except jwt.InvalidTokenError as exc:
        raise SignatureRejectedError("invalid_token") from exc


def _identity_claims_problem(claims: dict[str, Any]) -> str | None:
    for name in IDENTITY_CLAIMS:
        if name not in claims:
            return f"missing_{name}"
        value = claims[name]
        if not isinstance(value, str) or not value:
            return f"invalid_{name}"
    return None


def _jti_problem(claims: dict[str, Any], extension_api_name: str) -> str | None:
    if "jti" not in claims:
        return "missing_jti"
    if claims["jti"] != extension_api_name:
        return "wrong_jti"
    return None


def _exp_problem(claims: dict[str, Any], now_ms: int) -> str | None:
    if "exp" not in claims:
        return "missing_exp"
    exp = claims["exp"]
    # bool is an int subclass, and JSON 1.7e12 decodes to a float: Zoho wants Date.now() + 3600000.
    if isinstance(exp, bool) or not isinstance(exp, int):
        return "invalid_exp"
    # An exp in seconds lands here too: read as milliseconds it is in January 1970.
    if exp <= now_ms:
        return "expired"
    if exp > now_ms + TOKEN_LIFETIME_MS + EXP_LEEWAY_MS:
        return "exp_too_far"
    return None


def _organization_problem(claims: dict[str, Any], organization_id: str) -> str | None:
    if claims["organization_id"] != organization_id:
        return "organization_mismatch"
    return None
