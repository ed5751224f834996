"""The connection record's state machine: which status may follow which. Enforced on every write."""

from __future__ import annotations

from chalicelib.errors import FlowError
from chalicelib.models import Status

# A decision always passes through PENDING; only a pending decision ends in its desired status or in
# FAILED (given up). PENDING -> PENDING is bookkeeping (a failed try, a lease taken, a new decision).
ALLOWED: dict[Status | None, frozenset[Status]] = {
    None: frozenset({Status.PENDING}),
    Status.PENDING: frozenset({Status.PENDING, Status.CONNECTED, Status.REVOKED, Status.FAILED}),
    Status.CONNECTED: frozenset({Status.PENDING}),
    Status.REVOKED: frozenset({Status.PENDING}),
    Status.FAILED: frozenset({Status.PENDING}),
}


class IllegalTransition(FlowError):
    status = 409
    reason = "illegal_transition"
    title = "This change is not possible now"
    message = "The connection is not in a state that allows this change. Go back to Zoho and start again."


def check_transition(current: Status | None, current_desired: Status | None, new: Status, new_desired: Status | None) -> None:
    """Refuse a write the state machine does not allow (a bug or a corrupted record, never input)."""
    if new not in ALLOWED[current]:
        raise IllegalTransition(reason=f"illegal_transition_{current.value if current else 'none'}_to_{new.value}")
    if new is Status.PENDING and new_desired not in (Status.CONNECTED, Status.REVOKED):
        raise IllegalTransition(reason="illegal_pending_without_target")
    if new in (Status.CONNECTED, Status.REVOKED) and current_desired is not new:
        raise IllegalTransition(reason=f"illegal_{new.value}_without_that_decision")
