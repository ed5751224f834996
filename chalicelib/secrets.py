"""Secrets Manager access through Powertools' cached provider: one fetch per secret per cache age."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from chalicelib.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300


class SecretFormatError(Exception):
    """A secret exists but its value is not in a format we accept (says which secret, never the value)."""


class SecretSource(Protocol):
    def get(self, name: str, max_age: int | None = None, transform: Any = None, force_fetch: bool = False, **sdk_options: Any) -> Any: ...


def parse_extension_key(secret_id: str, raw: object) -> str:
    """The Secret Key as text (surrounding whitespace ignored), or JSON ``{"secret_key": "..."}``."""
    if isinstance(raw, bytes):
        raise SecretFormatError(f"Secret {secret_id} holds binary data; store the Secret Key as text (SecretString).")
    if not isinstance(raw, str) or not raw.strip():
        raise SecretFormatError(f"Secret {secret_id} is empty; put the extension's Secret Key in it.")
    value = raw.strip()
    if value.startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise SecretFormatError(f'Secret {secret_id} looks like JSON but does not parse; use the key as text or {{"secret_key": "..."}}.') from exc
        key = parsed.get("secret_key") if isinstance(parsed, dict) else None
        if not isinstance(key, str) or not key.strip():
            raise SecretFormatError(f'Secret {secret_id} is JSON without a non-empty string "secret_key".')
        return key.strip()
    return value


class Secrets:
    """The service's secrets. ``source`` is a Powertools ``SecretsProvider`` (or a fake in tests)."""

    def __init__(self, source: SecretSource, *, extension_secret_id: str, zoho_signing_secret_id: str, oidc_client_secret_id: str) -> None:
        self._source = source
        self._extension_secret_id = extension_secret_id
        self._zoho_signing_secret_id = zoho_signing_secret_id
        self._oidc_client_secret_id = oidc_client_secret_id

    def extension_key(self) -> str:
        """The extension's Secret Key: signs our ``X-Zoho-Signature`` tokens."""
        return parse_extension_key(self._extension_secret_id, self._fetch(self._extension_secret_id))

    def zoho_verification_keys(self) -> list[str]:
        """Keys that may have signed Zoho's incoming tokens."""
        return [parse_extension_key(self._zoho_signing_secret_id, self._fetch(self._zoho_signing_secret_id))]

    def oidc_client_secret(self) -> str:
        raw = self._fetch(self._oidc_client_secret_id)
        if not isinstance(raw, str) or not raw.strip():
            raise SecretFormatError(f"Secret {self._oidc_client_secret_id} must hold the OpenID Connect client secret as text.")
        return raw.strip()

    def _fetch(self, secret_id: str) -> object:
        # Powertools wraps every failure (throttling, network, missing secret, access denied) in
        # GetParameterError; none of them is the person's fault, so each becomes a 503 page.
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            return self._source.get(secret_id, max_age=CACHE_SECONDS)
        except GetParameterError as exc:
            logger.error("secret_unavailable", extra={"secret_id": secret_id, "error": str(exc)[:300]})
            raise ServiceUnavailable() from exc
