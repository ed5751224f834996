"""Zoho's External Connections API: ``PUT .../externalconnections/<name>?action=...``.

Success means HTTP 2xx *and* a JSON body whose integer ``code`` is 0; anything else is a failure with
a named reason. Every call has explicit timeouts; transient failures (connection errors, timeouts,
429, 5xx) are retried within a bounded budget that ends well inside API Gateway's 29 seconds.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from chalicelib.datacenters import DataCenters

if TYPE_CHECKING:
    # requests and tenacity are imported when Zoho is first called, not with the app: most cold
    # starts (the Connection and Revoke URLs) never call Zoho.
    import requests
    from tenacity import RetryCallState

logger = logging.getLogger(__name__)

MARK_AS_CONNECTED = "mark_as_connected"
MARK_AS_REVOKED = "mark_as_revoked"


class ZohoApiError(Exception):
    def __init__(self, reason: str, *, retryable: bool, http_status: int | None = None, code: object = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.http_status = http_status
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class ZohoReply:
    http_status: int
    message: str
    attempts: int
    elapsed: float


@dataclass(frozen=True)
class RetryPolicy:
    connect_timeout: float = 3.05
    read_timeout: float = 8.0
    max_attempts: int = 3
    total_budget: float = 20.0  # seconds for all attempts and waits together
    base_backoff: float = 0.25
    max_backoff: float = 2.0
    max_retry_after: float = 5.0


class ZohoClient:
    def __init__(
        self,
        session: requests.Session,
        data_centers: DataCenters,
        policy: RetryPolicy = RetryPolicy(),
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._data_centers = data_centers
        self._policy = policy
        self._sleep = sleep
        self._monotonic = monotonic

    def mark(self, *, dc: str, connection: str, organization_id: str, action: str, signature: str) -> ZohoReply:
        """Tell Zoho ``action`` for ``connection`` of ``organization_id``; raise ZohoApiError unless confirmed.

        ``signature`` is our HS256 JWT for the ``X-Zoho-Signature`` header; it is never logged.
        """
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_before_delay

        if action not in (MARK_AS_CONNECTED, MARK_AS_REVOKED):
            raise ValueError(f"unknown action {action!r}")
        url = f"{self._data_centers.base_url(dc)}/api/v3/settings/externalconnections/{quote(connection, safe='')}"
        params = {"action": action, "organization_id": organization_id}
        started = self._monotonic()
        policy = self._policy
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, ZohoApiError) and exc.retryable),
            stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.total_budget - policy.connect_timeout),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        attempts = 0
        for attempt in retrying:
            with attempt:
                attempts += 1
                remaining = policy.total_budget - (self._monotonic() - started)
                timeout = (policy.connect_timeout, max(0.5, min(policy.read_timeout, remaining)))
                http_status, message = self._put_once(url, params, signature, timeout)
        # Logged once by the caller, with what it did on our side (confirmation.Confirmer._confirm).
        return ZohoReply(http_status=http_status, message=message, attempts=attempts, elapsed=self._monotonic() - started)

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with full jitter; a ``Retry-After`` is honoured up to a cap."""
        policy = self._policy
        backoff = random.uniform(0, min(policy.max_backoff, policy.base_backoff * 2 ** (state.attempt_number - 1)))
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, ZohoApiError) and exc.retry_after else 0.0
        return max(backoff, min(retry_after, policy.max_retry_after))

    def _put_once(self, url: str, params: dict[str, str], signature: str, timeout: tuple[float, float]) -> tuple[int, str]:
        import requests

        try:
            response = self._session.put(url, params=params, headers={"X-Zoho-Signature": signature, "Accept": "application/json"}, timeout=timeout)
        except requests.Timeout as exc:
            raise ZohoApiError("zoho_timeout", retryable=True) from exc
        except requests.RequestException as exc:
            raise ZohoApiError("zoho_unreachable", retryable=True) from exc
        return _interpret(response)


def _interpret(response: requests.Response) -> tuple[int, str]:
    status = response.status_code
    transient = status == 429 or status >= 500
    retry_after = _retry_after(response.headers.get("Retry-After"))
    body = _json_body(response)
    if body is None:
        logger.warning("zoho_bad_reply", extra={"http_status": status, "content_type": response.headers.get("Content-Type", "")[:100]})
        raise ZohoApiError("zoho_bad_reply" if 200 <= status < 300 else f"zoho_http_{status}", retryable=transient, http_status=status, retry_after=retry_after)
    code = body.get("code")
    message = str(body.get("message", ""))[:300]
    if not 200 <= status < 300:
        logger.warning("zoho_http_error", extra={"http_status": status, "code": code, "zoho_message": message})
        raise ZohoApiError(f"zoho_http_{status}", retryable=transient, http_status=status, code=code, retry_after=retry_after)
    if isinstance(code, bool) or not isinstance(code, int) or code != 0:
        logger.warning("zoho_rejected", extra={"http_status": status, "code": code, "zoho_message": message})
        raise ZohoApiError("zoho_code_nonzero", retryable=False, http_status=status, code=code)
    return status, message


def _json_body(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; an HTTP date or garbage counts as absent."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < 86_400 else None
