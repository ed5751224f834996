"""The scheduled reconciler: confirms with Zoho every decision left in the outbox (Zoho failed, or the
request died mid-way), with backoff, until confirmed or given up (then an alarm fires)."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field

from chalicelib.clock import Clock
from chalicelib.confirmation import Confirmer
from chalicelib.errors import FlowError
from chalicelib.store import Store

logger = logging.getLogger(__name__)

BATCH = 25
# A run stops picking up work with this much of its Lambda time left (the schedule's function has 60 s).
RUN_BUDGET_SECONDS = 40.0


@dataclass
class Report:
    due: int = 0
    confirmed: int = 0
    not_confirmed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


class Reconciler:
    def __init__(self, store: Store, confirmer: Confirmer, clock: Clock) -> None:
        self._store = store
        self._confirmer = confirmer
        self._clock = clock

    def run(self, *, budget_seconds: float = RUN_BUDGET_SECONDS) -> Report:
        started = time.monotonic()
        report = Report()
        owner = f"reconciler:{secrets.token_urlsafe(6)}"
        for listed in self._store.list_due(self._clock.now(), BATCH):
            report.due += 1
            if time.monotonic() - started > budget_seconds:
                report.skipped += 1
                continue
            # The index may lag: act on the record as it is now, under a lease (a conditional write).
            record = self._store.get_connection(listed.organization_id, listed.connection)
            if record is None or record.outbox is None or (record.next_attempt_at or 0) > self._clock.now():
                report.skipped += 1
                continue
            try:
                result = self._confirmer.resume(record, owner=owner)
            except FlowError as exc:
                report.errors.append(exc.reason)
                continue
            if result is None:
                report.skipped += 1
            elif result.confirmed:
                report.confirmed += 1
            else:
                report.not_confirmed += 1
        logger.info("reconciled", extra={"due": report.due, "confirmed": report.confirmed, "not_confirmed": report.not_confirmed, "skipped": report.skipped})
        return report
