"""Secrets Manager access: a TTL cache (cachetools) on the hot path, so a warm container makes no call;
the last good value when Secrets Manager is down; the previous key version during a rotation."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from cachetools import TTLCache

from chalicelib.clock import Clock
from chalicelib.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300  # a rotated secret is picked up within this, or at once by a failed verification
# A Zoho token lives one hour: after the Secret Key is rotated, tokens signed with the previous key
# may arrive for that long. The previous version is accepted while the current one is younger than this.
ROTATION_GRACE_SECONDS = 2 * 3600
# A token that fails verification may mean the key was rotated since we cached it; refetching is
# allowed at most this often, so forged tokens cannot turn into a flood of Secrets Manager calls.
MIN_REFRESH_INTERVAL_SECONDS = 30


class SecretFormatError(Exception):
    """A secret exists but its value is not in a format we accept (says which secret, never the value)."""


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
        value = key.strip()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # "\ud800" in JSON: it could sign nothing
        raise SecretFormatError(f"Secret {secret_id} is not valid Unicode text; store the Secret Key exactly as Zoho shows it.") from exc
    return value


class Secrets:
    """The service's secrets, read from ``client`` (a boto3 Secrets Manager client) and cached for
    ``CACHE_SECONDS`` per secret on ``clock``'s time."""

    def __init__(
        self,
        client: Any,
        clock: Clock,
        *,
        extension_secret_id: str,
        zoho_signing_secret_id: str,
        oidc_client_secret_id: str,
    ) -> None:
        self._client = client
        self._clock = clock
        self._extension_secret_id = extension_secret_id
        self._zoho_signing_secret_id = zoho_signing_secret_id
        self._oidc_client_secret_id = oidc_client_secret_id
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe
        self._cache: TTLCache[str, object] = TTLCache(maxsize=8, ttl=CACHE_SECONDS, timer=clock.now)
        self._last_good: dict[str, object] = {}
        self._last_refresh = float("-inf")
        self._previous: tuple[str, float] | None = None  # (previous key, accepted until)

    def extension_key(self) -> str:
        """The extension's Secret Key: signs our ``X-Zoho-Signature`` tokens."""
        return parse_extension_key(self._extension_secret_id, self._fetch(self._extension_secret_id))

    def zoho_verification_keys(self) -> list[str]:
        """Keys that may have signed Zoho's incoming tokens: the cached current one, and the previous
        version while a rotation seen by ``refreshed_zoho_verification_keys`` is within its grace."""
        keys = [parse_extension_key(self._zoho_signing_secret_id, self._fetch(self._zoho_signing_secret_id))]
        with self._lock:
            previous = self._previous
        if previous is not None and self._clock.now() < previous[1] and previous[0] not in keys:
            keys.append(previous[0])
        return keys

    def refreshed_zoho_verification_keys(self) -> list[str] | None:
        """After a failed verification: the current key fetched afresh, then the previous version if the
        current one is younger than the rotation grace. None when a refresh was done too recently."""
        now = self._clock.now()
        with self._lock:
            if now - self._last_refresh < MIN_REFRESH_INTERVAL_SECONDS:
                return None
            self._last_refresh = now
        secret_id = self._zoho_signing_secret_id
        current = self._get_version(secret_id, "AWSCURRENT")
        if current is None:
            return None
        value = _value_of(current)
        keys = [parse_extension_key(secret_id, value)]
        self._remember(secret_id, value)  # the next request uses the new key without another miss
        created = current.get("CreatedDate")
        accept_until = created.timestamp() + ROTATION_GRACE_SECONDS if created is not None else now
        remembered: tuple[str, float] | None = None
        if now < accept_until:
            previous = self._get_version(secret_id, "AWSPREVIOUS")
            try:
                if previous is not None:
                    remembered = (parse_extension_key(secret_id, _value_of(previous)), accept_until)
                    keys.append(remembered[0])
            except SecretFormatError:
                logger.warning("previous_secret_unusable", extra={"secret_id": secret_id})
        with self._lock:
            self._previous = remembered
        return keys

    def oidc_client_secret(self) -> str:
        raw = self._fetch(self._oidc_client_secret_id)
        if not isinstance(raw, str) or not raw.strip():
            raise SecretFormatError(f"Secret {self._oidc_client_secret_id} must hold the OpenID Connect client secret as text.")
        return raw.strip()

    def _fetch(self, secret_id: str) -> object:
        """The cached value, else the current version read afresh. Any failure to read it (throttling,
        network, a missing secret, access denied) is none of the person's doing: the last good value
        if there is one (a key does not go bad because Secrets Manager is briefly away), else a 503."""
        from botocore.exceptions import BotoCoreError, ClientError

        with self._lock:
            cached = self._cache.get(secret_id)
        if cached is not None:
            return cached
        try:
            reply: dict[str, Any] = self._client.get_secret_value(SecretId=secret_id)
        except (BotoCoreError, ClientError) as exc:
            with self._lock:
                stale = self._last_good.get(secret_id)
            problem = _problem(exc)
            if stale is not None:
                logger.warning("secret_unavailable_using_cached", extra={"secret_id": secret_id, "error": problem})
                return stale
            logger.error("secret_unavailable", extra={"secret_id": secret_id, "error": problem})
            raise ServiceUnavailable() from exc
        value = _value_of(reply)
        self._remember(secret_id, value)
        return value

    def _remember(self, secret_id: str, value: object) -> None:
        if value is None:
            return
        with self._lock:
            self._cache[secret_id] = value
            self._last_good[secret_id] = value

    def _get_version(self, secret_id: str, stage: str) -> dict[str, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            reply: dict[str, Any] = self._client.get_secret_value(SecretId=secret_id, VersionStage=stage)
        except (BotoCoreError, ClientError) as exc:
            problem = _problem(exc)
            if problem != "ResourceNotFoundException":  # no AWSPREVIOUS before the first rotation
                logger.warning("secret_version_unavailable", extra={"secret_id": secret_id, "stage": stage, "error": problem})
            return None
        return reply


def _value_of(reply: dict[str, Any]) -> object:
    """A GetSecretValue reply's value: its text, else its bytes (which the parsers refuse by name)."""
    return reply["SecretString"] if "SecretString" in reply else reply.get("SecretBinary")


def _problem(exc: Exception) -> str:
    """What went wrong reading a secret, for the log: AWS's error code, else the exception's name (never
    its message, which can quote the request)."""
    from botocore.exceptions import ClientError

    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else type(exc).__name__
