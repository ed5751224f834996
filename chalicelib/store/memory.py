"""In-memory store with the same conditional-write rules as DynamoDB (for unit tests and benchmarks).

Records go in and come out as copies, so a caller changing its object never changes what is stored.
Shallow copies suffice (and cost a few microseconds, where deep copies cost a tenth of a millisecond
per request in the warm benchmark): every field of an Attempt and a ConnectionRecord is immutable
(strings, numbers, enums, the frozen ZohoClaims)."""

from __future__ import annotations

import copy
import threading

from chalicelib.models import Attempt, AuditEvent, ConnectionRecord
from chalicelib.store import StaleWrite


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: dict[str, Attempt] = {}
        self._tokens: dict[str, tuple[str, int]] = {}
        self._connections: dict[tuple[str, str], ConnectionRecord] = {}
        self._audit: dict[tuple[str, str], list[AuditEvent]] = {}

    def create_attempt(self, attempt: Attempt) -> None:
        with self._lock:
            if attempt.attempt_id in self._attempts:
                raise StaleWrite(attempt.attempt_id)
            self._attempts[attempt.attempt_id] = copy.copy(attempt)

    def get_attempt(self, attempt_id: str, now: float) -> Attempt | None:
        with self._lock:
            attempt = self._attempts.get(attempt_id)
            if attempt is None or attempt.is_expired(now):
                return None
            return copy.copy(attempt)

    def save_attempt(self, attempt: Attempt) -> None:
        with self._lock:
            stored = self._attempts.get(attempt.attempt_id)
            if stored is None or stored.version != attempt.version - 1:
                raise StaleWrite(attempt.attempt_id)
            self._attempts[attempt.attempt_id] = copy.copy(attempt)

    def token_holder(self, token_hash: str, now: float) -> str | None:
        with self._lock:
            holder = self._tokens.get(token_hash)
            return holder[0] if holder is not None and holder[1] > now else None

    def claim_token(self, token_hash: str, attempt_id: str, expires_at: int, now: float) -> str:
        with self._lock:
            holder = self._tokens.get(token_hash)
            if holder is not None and holder[1] > now:
                return holder[0]
            self._tokens[token_hash] = (attempt_id, expires_at)
            return attempt_id

    def get_connection(self, organization_id: str, connection: str) -> ConnectionRecord | None:
        with self._lock:
            record = self._connections.get((organization_id, connection))
            return copy.copy(record)

    def save_connection(self, record: ConnectionRecord, audit: AuditEvent) -> None:
        key = (record.organization_id, record.connection)
        with self._lock:
            stored = self._connections.get(key)
            stored_version = stored.version if stored is not None else 0
            if stored_version != record.version - 1:
                raise StaleWrite(f"{key}")
            self._connections[key] = copy.copy(record)
            self._audit.setdefault(key, []).append(audit)

    def list_audit(self, organization_id: str, connection: str) -> list[AuditEvent]:
        with self._lock:
            return list(self._audit.get((organization_id, connection), []))

    def list_due(self, now: float, limit: int) -> list[ConnectionRecord]:
        with self._lock:
            due = [r for r in self._connections.values() if r.outbox is not None and (r.next_attempt_at or 0) <= now]
            return [copy.copy(r) for r in sorted(due, key=lambda r: r.next_attempt_at or 0)[:limit]]

    def list_connections(self, limit: int, after: str | None = None) -> tuple[list[ConnectionRecord], str | None]:
        with self._lock:
            keys = sorted(self._connections)
            start = 0 if after is None else next((i + 1 for i, key in enumerate(keys) if "|".join(key) == after), len(keys))
            page = keys[start : start + limit]
            cursor = "|".join(page[-1]) if page and start + limit < len(keys) else None
            return [copy.copy(self._connections[key]) for key in page], cursor
