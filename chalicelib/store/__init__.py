"""Where attempts, used tokens and connections live: the interface and its rules.

Two implementations: ``memory`` (unit tests, benchmarks) and ``dynamodb`` (deployed, local stack).
Both keep the same contract, proven by ``tests/functional/test_store_contract.py``.
"""

from __future__ import annotations

from typing import Protocol

from chalicelib.models import Attempt, AuditEvent, ConnectionRecord


class StaleWrite(Exception):
    """A conditional write lost: someone else changed the item since it was read."""


class Store(Protocol):
    def create_attempt(self, attempt: Attempt) -> None:
        """Store a new attempt; its id is random, so an existing item is a bug (StaleWrite)."""

    def get_attempt(self, attempt_id: str, now: float) -> Attempt | None:
        """The attempt, or None when absent or expired (TTL deletion is late: expiry is checked here)."""

    def save_attempt(self, attempt: Attempt) -> None:
        """Write ``attempt`` if the stored version is ``attempt.version - 1``; else StaleWrite."""

    def token_holder(self, token_hash: str, now: float) -> str | None:
        """The attempt that used this Zoho token, if it is used and the claim has not expired."""

    def claim_token(self, token_hash: str, attempt_id: str, expires_at: int, now: float) -> str:
        """Mark a Zoho token used by ``attempt_id``; return the attempt that holds it (maybe another)."""

    def get_connection(self, organization_id: str, connection: str) -> ConnectionRecord | None: ...

    def save_connection(self, record: ConnectionRecord, audit: AuditEvent) -> None:
        """Write ``record`` and append ``audit`` atomically, if the stored version is
        ``record.version - 1`` (version 1 means: must not exist yet); else StaleWrite."""

    def list_audit(self, organization_id: str, connection: str) -> list[AuditEvent]: ...

    def list_due(self, now: float, limit: int) -> list[ConnectionRecord]:
        """Records in the outbox whose next confirmation attempt is due (may be slightly stale)."""

    def list_connections(self, limit: int, after: str | None = None) -> tuple[list[ConnectionRecord], str | None]:
        """A page of connection records and the cursor of the next page (None at the end)."""
