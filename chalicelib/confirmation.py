"""Getting a decision confirmed by Zoho, exactly once, without ever losing it.

The connection record is the unit of consistency. A decision is written to it as ``pending`` with the
``desired`` status, in the outbox, and under a lease; only the lease holder calls Zoho, so concurrent
requests for one org make one effective PUT per transition. When Zoho confirms, the record takes the
desired status and leaves the outbox; when it does not, the decision stays pending in the outbox with
the reason, for the person's "Try again" or the scheduled reconciler.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chalicelib.clock import Clock, now_ms
from chalicelib.errors import AlreadyConnected, ServiceUnavailable
from chalicelib.events import EventPublisher
from chalicelib.hooks import ConnectionHooks
from chalicelib.models import UNREAD, AuditEvent, ConnectionRecord, Decision, Status, Unread
from chalicelib.secrets import Secrets
from chalicelib.state import check_transition
from chalicelib.store import StaleWrite, Store
from chalicelib.telemetry import (
    CONNECTIONS_CONFIRMED,
    RECONCILIATION_GIVE_UPS,
    REVOCATIONS_CONFIRMED,
    ZOHO_CONFIRMATION_FAILURES,
    ZOHO_LATENCY,
    Telemetry,
)
from chalicelib.zoho_api import MARK_AS_CONNECTED, MARK_AS_REVOKED, ZohoApiError, ZohoClient
from chalicelib.zoho_token import ZohoClaims, sign_connection_token

logger = logging.getLogger(__name__)

OUTBOX = "pending"
LEASE_SECONDS = 30  # longer than the Zoho client's whole budget (20 s)
LEASE_WAIT_SECONDS = 12.0  # how long a request waits for another one's confirmation to finish
POLL_SECONDS = (0.1, 0.2, 0.4, 0.8)  # waits between reads while another request holds the lease
MAX_WRITE_TRIES = 8
MAX_CONFIRM_ATTEMPTS = 8  # then the decision is marked failed and an alarm fires
ACTIONS = {Status.CONNECTED: MARK_AS_CONNECTED, Status.REVOKED: MARK_AS_REVOKED}


@dataclass(frozen=True)
class Confirmation:
    confirmed: bool
    record: ConnectionRecord
    reason: str | None = None


class Confirmer:
    def __init__(
        self,
        *,
        store: Store,
        secrets: Secrets,
        zoho: ZohoClient,
        clock: Clock,
        telemetry: Telemetry,
        hooks: ConnectionHooks,
        events: EventPublisher,
        extension_api_name: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._zoho = zoho
        self._clock = clock
        self._telemetry = telemetry
        self._hooks = hooks
        self._events = events
        self._extension_api_name = extension_api_name
        self._sleep = sleep

    # -- a person's decision ---------------------------------------------------------------------
    def decide(self, decision: Decision, *, seen: ConnectionRecord | Unread | None = UNREAD) -> Confirmation:
        """Record the decision under a lease and get it confirmed. Returns without a PUT when the same
        decision was confirmed by another request since this one's Zoho token was presented (two
        tabs, a double click, a concurrent admin): Zoho already holds what this decision asks for.

        ``seen``: the connection record as the caller read it moments ago (``None``: there was
        none), so it is not read again. A record changed since then costs one failed conditional
        write and a fresh read, never a wrong write: every write is conditional on the version.
        """
        record, ours = self._record_decision(decision, seen)
        if not ours:
            return Confirmation(True, record)
        return self._confirm(record, decision.owner, decision.actor)

    def _record_decision(self, decision: Decision, seen: ConnectionRecord | Unread | None) -> tuple[ConnectionRecord, bool]:
        """The record with this decision written under our lease, or (the record, False) when another
        request was confirming the same decision and has done it."""
        deadline = time.monotonic() + LEASE_WAIT_SECONDS
        hook_ran = False
        joined = False  # we waited on another request confirming this very target
        for turn in range(10_000):
            now = self._clock.now()
            record = self._current(decision, seen if turn == 0 else UNREAD)
            if _is_confirmed(record, decision) and (joined or (record.confirmed_ms or 0) > decision.started_ms > 0):
                return record, False
            if record.leased_to_other(decision.owner, now):
                joined = joined or _same_decision(record, decision)
                if time.monotonic() >= deadline:
                    raise ServiceUnavailable("Another change to this connection is still being confirmed with Zoho. Try again in a moment.", reason="busy")
                self._sleep(POLL_SECONDS[min(turn, len(POLL_SECONDS) - 1)])
                continue
            if decision.target is Status.CONNECTED and record.status is Status.CONNECTED and record.subject not in (None, decision.subject):
                raise AlreadyConnected()
            if decision.target is Status.REVOKED and not hook_ran:
                # Our side lets go first: "revoked" means we no longer hold anything for the org.
                self._hooks.before_revoke(decision.claims.organization_id, decision.connection, record if record.version else None)
                hook_ran = True
            changes = _decision_changes(decision, int(now))
            try:
                return self._write(record, decision.owner, decision.actor, changes), True
            except StaleWrite:
                continue
        raise ServiceUnavailable(reason="write_contention")

    # -- the reconciler --------------------------------------------------------------------------
    def resume(self, record: ConnectionRecord, *, owner: str) -> Confirmation | None:
        """Take over a pending decision from the outbox; None when it is not due or someone holds it."""
        now = self._clock.now()
        if record.status is not Status.PENDING or record.desired is None or record.leased_to_other(owner, now):
            return None
        try:
            leased = self._write(record, owner, "reconciler", {"lease_owner": owner, "lease_until": int(now) + LEASE_SECONDS})
        except StaleWrite:
            return None
        return self._confirm(leased, owner, "reconciler")

    # -- the operator ----------------------------------------------------------------------------
    def reopen(self, record: ConnectionRecord, *, owner: str) -> Confirmation | None:
        """An operator's retry: a given-up (failed) decision goes back to pending, then is confirmed now."""
        if record.status is Status.FAILED and record.desired is not None:
            now = int(self._clock.now())
            try:
                record = self._write(record, owner, owner, {"status": Status.PENDING, "outbox": OUTBOX, "next_attempt_at": now, "confirm_attempts": 0})
            except StaleWrite:
                return None
        return self.resume(record, owner=owner)

    # -- the one place that calls Zoho -----------------------------------------------------------
    def _confirm(self, record: ConnectionRecord, owner: str, actor: str) -> Confirmation:
        assert record.desired in ACTIONS, "only a pending decision is confirmed"
        assert record.lease_owner == owner, "only the lease holder calls Zoho"
        target = record.desired
        claims = ZohoClaims(user_id=record.zoho_user_id, organization_id=record.organization_id, organization_name=record.organization_name, exp_ms=0)
        started = time.monotonic()
        try:
            key = self._secrets.extension_key()
            signature = sign_connection_token(claims, key=key, extension_api_name=self._extension_api_name, now_ms=now_ms(self._clock))
            reply = self._zoho.mark(
                dc=record.dc, connection=record.connection, organization_id=record.organization_id, action=ACTIONS[target], signature=signature
            )
        except ZohoApiError as exc:
            return self._note_failure(record, owner, actor, exc.reason)
        except ServiceUnavailable:
            self._note_failure(record, owner, actor, "secret_unavailable")
            raise
        finally:
            self._telemetry.latency(ZOHO_LATENCY, (time.monotonic() - started) * 1000)
        now = int(self._clock.now())
        confirmed = self._write_as_owner(
            record,
            owner,
            actor,
            lambda current: {
                "status": target,
                "desired": None,
                "confirmed_at": now,
                "confirmed_ms": now_ms(self._clock),
                "last_error": None,
                "confirm_attempts": current.confirm_attempts + 1,
                **_RELEASED,
            },
        )
        self._telemetry.count(CONNECTIONS_CONFIRMED if target is Status.CONNECTED else REVOCATIONS_CONFIRMED)
        logger.info(
            "zoho_confirmed",
            extra={
                "organization_id": record.organization_id,
                "connection": record.connection,
                "status": target.value,
                "action": ACTIONS[target],
                "dc": record.dc,
                "attempts": reply.attempts,
                "elapsed_ms": round(reply.elapsed * 1000),
            },
        )
        if target is Status.CONNECTED:
            self._hooks.after_connect(confirmed)
        self._events.publish(confirmed)
        return Confirmation(True, confirmed)

    def _note_failure(self, record: ConnectionRecord, owner: str, actor: str, reason: str) -> Confirmation:
        self._telemetry.count(ZOHO_CONFIRMATION_FAILURES, reason=reason)
        now = int(self._clock.now())

        def changes(current: ConnectionRecord) -> Mapping[str, object]:
            attempts = current.confirm_attempts + 1
            if attempts >= MAX_CONFIRM_ATTEMPTS:
                # Given up: kept as failed with the decision and the reason; an operator can retry.
                return {"status": Status.FAILED, "last_error": reason, "confirm_attempts": attempts, **_RELEASED}
            return {
                "last_error": reason,
                "confirm_attempts": attempts,
                "lease_owner": None,
                "lease_until": None,
                "next_attempt_at": now + retry_delay(attempts),
            }

        noted = self._write_as_owner(record, owner, actor, changes)
        if noted.status is Status.FAILED:
            self._telemetry.count(RECONCILIATION_GIVE_UPS, reason=reason)
            logger.error("confirmation_given_up", extra={"organization_id": record.organization_id, "connection": record.connection, "reason": reason})
        return Confirmation(False, noted, reason)

    # -- writes ----------------------------------------------------------------------------------
    def _current(self, decision: Decision, seen: ConnectionRecord | Unread | None = UNREAD) -> ConnectionRecord:
        claims = decision.claims
        existing = self._store.get_connection(claims.organization_id, decision.connection) if seen is UNREAD else seen
        if existing is not None:
            return existing
        now = int(self._clock.now())
        return ConnectionRecord(
            organization_id=claims.organization_id,
            connection=decision.connection,
            status=Status.PENDING,
            organization_name=claims.organization_name,
            zoho_user_id=claims.user_id,
            dc=decision.dc,
            created_at=now,
            updated_at=now,
        )

    def _write_as_owner(
        self, record: ConnectionRecord, owner: str, actor: str, changes_for: Callable[[ConnectionRecord], Mapping[str, object]]
    ) -> ConnectionRecord:
        """Apply ``changes_for`` while we hold the lease; a lost race (a reader's write in between) is re-read."""
        current = record
        for _ in range(MAX_WRITE_TRIES):
            if current.lease_owner != owner:
                logger.error("lease_lost", extra={"organization_id": record.organization_id, "connection": record.connection, "holder": current.lease_owner})
                raise ServiceUnavailable(reason="lease_lost")
            try:
                return self._write(current, owner, actor, changes_for(current))
            except StaleWrite:
                fresh = self._store.get_connection(record.organization_id, record.connection)
                if fresh is None:
                    raise ServiceUnavailable(reason="record_vanished") from None
                current = fresh
        raise ServiceUnavailable(reason="write_contention")

    def _write(self, record: ConnectionRecord, owner: str, actor: str, changes: Mapping[str, object]) -> ConnectionRecord:
        now = int(self._clock.now())
        updated = dataclasses.replace(record, **changes, updated_at=now, version=record.version + 1)  # type: ignore[arg-type]
        check_transition(record.status if record.version else None, record.desired, updated.status, updated.desired)
        event = AuditEvent(
            organization_id=record.organization_id,
            connection=record.connection,
            at=now,
            version=updated.version,
            from_status=record.status.value if record.version else None,
            to_status=updated.status.value,
            flow_id=owner,
            actor=actor,
            detail={key: str(value) for key, value in (("desired", updated.desired and updated.desired.value), ("error", updated.last_error)) if value},
        )
        self._store.save_connection(updated, event)
        return updated


_RELEASED: dict[str, object] = {"lease_owner": None, "lease_until": None, "outbox": None, "next_attempt_at": None}


def _decision_changes(decision: Decision, now: int) -> dict[str, object]:
    claims = decision.claims
    connect = decision.target is Status.CONNECTED
    return {
        "status": Status.PENDING,
        "desired": decision.target,
        # Revoking forgets which account consented: nothing of the org is kept on our side.
        "subject": decision.subject if connect else None,
        "subject_label": decision.subject_label if connect else None,
        "organization_name": claims.organization_name,
        "zoho_user_id": claims.user_id,
        "dc": decision.dc,
        "last_error": None,
        "flow_id": decision.owner,
        "lease_owner": decision.owner,
        "lease_until": now + LEASE_SECONDS,
        # In the outbox from the start: if this request dies mid-way, the reconciler finishes it.
        "outbox": OUTBOX,
        "next_attempt_at": now + LEASE_SECONDS,
    }


def _same_decision(record: ConnectionRecord, decision: Decision) -> bool:
    return record.desired is decision.target and (decision.target is not Status.CONNECTED or record.subject == decision.subject)


def _is_confirmed(record: ConnectionRecord, decision: Decision) -> bool:
    return record.status is decision.target and (decision.target is not Status.CONNECTED or record.subject == decision.subject)


def retry_delay(attempts: int) -> int:
    """Seconds before the reconciler tries again: exponential from 1 minute, capped at an hour, jittered."""
    base = min(3600, 60 * 2 ** max(0, attempts - 1))
    return int(base * random.uniform(0.8, 1.2))
