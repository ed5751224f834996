"""The connection record's state machine."""

from __future__ import annotations

import pytest

from chalicelib.models import Status
from chalicelib.state import IllegalTransition, check_transition

P, C, R, F = Status.PENDING, Status.CONNECTED, Status.REVOKED, Status.FAILED

ALLOWED = [
    (None, None, P, C),
    (None, None, P, R),
    (P, C, C, None),
    (P, R, R, None),
    (P, C, P, C),
    (P, C, P, R),
    (P, R, F, R),
    (C, None, P, R),
    (C, None, P, C),
    (R, None, P, C),
    (F, C, P, C),
]
REFUSED = [
    (None, None, C, None, "illegal_transition_none_to_connected"),
    (None, None, R, None, "illegal_transition_none_to_revoked"),
    (C, None, R, None, "illegal_transition_connected_to_revoked"),
    (R, None, C, None, "illegal_transition_revoked_to_connected"),
    (C, None, C, None, "illegal_transition_connected_to_connected"),
    (F, C, C, None, "illegal_transition_failed_to_connected"),
    (P, R, C, None, "illegal_connected_without_that_decision"),
    (P, C, R, None, "illegal_revoked_without_that_decision"),
    (C, None, P, None, "illegal_pending_without_target"),
    (None, None, P, F, "illegal_pending_without_target"),
]


@pytest.mark.parametrize(("current", "desired", "new", "new_desired"), ALLOWED)
def test_allowed_transitions(current: Status | None, desired: Status | None, new: Status, new_desired: Status | None) -> None:
    check_transition(current, desired, new, new_desired)


@pytest.mark.parametrize(("current", "desired", "new", "new_desired", "reason"), REFUSED)
def test_illegal_transitions_are_refused(current: Status | None, desired: Status | None, new: Status, new_desired: Status | None, reason: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(current, desired, new, new_desired)
    assert (caught.value.reason, caught.value.status) == (reason, 409)
