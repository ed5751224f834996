"""Constants and helpers shared by the devstack tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import base64
import json
import secrets
import warnings
from typing import Any

import jwt

from devstack.oidc_provider import s256_challenge

# 32 bytes: long enough that PyJWT's key-length warning (an error under our pytest settings)
# stays out of the tests that sign tokens themselves.
SECRET_KEY = "sandbox-test-secret-key-32-bytes"
EXTENSION_API_NAME = "pu_com_acme"
CONNECTION = "ec__com_acme"
OTHER_CONNECTION = "ec__com_acme_payroll"
SERVICE_BASE_URL = "http://localhost:8000"
ORGANIZATION_ID = "60012345678"
ORGANIZATION_NAME = "Zylker Industries"
USER_ID = "4000000012345"
# 2026-01-01T00:00:00Z plus a fraction, to show milliseconds are truncated, not rounded.
START_TIME = 1_767_225_600.1239
START_MS = 1_767_225_600_123
HOUR_MS = 3_600_000


class FakeClock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def extension_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid X-Zoho-Signature at START_TIME; an override of None drops the claim."""
    claims: dict[str, Any] = {
        "user_id": USER_ID,
        "organization_id": ORGANIZATION_ID,
        "organization_name": ORGANIZATION_NAME,
        "jti": EXTENSION_API_NAME,
        "exp": START_MS + HOUR_MS,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], *, key: str = SECRET_KEY, algorithm: str = "HS256") -> str:
    # HS384/HS512 want longer keys than the test secret; their tokens only exist to be refused.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm)


def unsigned_token(claims: dict[str, Any]) -> str:
    """An ``alg: none`` token, which PyJWT will not produce with a key."""

    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{segment({'typ': 'JWT', 'alg': 'none'})}.{segment(claims)}."


def decoded_segment(token: str, index: int) -> dict[str, Any]:
    """The JSON of one segment of a compact JWT, read without any verification."""
    raw = token.split(".")[index]
    decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    assert isinstance(decoded, dict)
    return decoded


def pkce_pair() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256_challenge(verifier)
