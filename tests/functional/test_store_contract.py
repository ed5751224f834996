"""The store contract, run against both implementations: in-memory and DynamoDB (moto server)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.models import Attempt, AuditEvent, ConnectionRecord, Kind, Status, Step
from chalicelib.store import StaleWrite
from chalicelib.store.dynamodb import DynamoStore
from chalicelib.store.memory import MemoryStore
from chalicelib.zoho_token import ZohoClaims
from devstack.stack import LocalStack

NOW = time.time()


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        stack: LocalStack = request.getfixturevalue("stack")
        yield DynamoStore(stack.aws_client("dynamodb"), stack.table_name)


def attempt(**changes: Any) -> Attempt:
    values: dict[str, Any] = {
        "attempt_id": secrets.token_urlsafe(8),
        "kind": Kind.CONNECT,
        "connection": "ec__com_acme",
        "claims": ZohoClaims(user_id="u", organization_id="o", organization_name="Zylker", exp_ms=0),
        "token_hash": secrets.token_hex(8),
        "dc": "com",
        "csrf_token": "c",
        "expires_at": int(NOW) + 3600,
        "step": Step.SIGNING_IN,
        "created_at": int(NOW),
        "version": 1,
    }
    values.update(changes)
    return Attempt(**values)


def record(organization_id: str, version: int = 1, **changes: Any) -> ConnectionRecord:
    values: dict[str, Any] = {
        "organization_id": organization_id,
        "connection": "ec__com_acme",
        "status": Status.PENDING,
        "desired": Status.CONNECTED,
        "organization_name": "Zylker",
        "zoho_user_id": "u",
        "dc": "com",
        "created_at": 1,
        "updated_at": 1,
        "version": version,
    }
    values.update(changes)
    return ConnectionRecord(**values)


def audit(organization_id: str, version: int) -> AuditEvent:
    return AuditEvent(
        organization_id=organization_id, connection="ec__com_acme", at=1, version=version, from_status=None, to_status="pending", flow_id="f", actor="a"
    )


def test_an_attempt_round_trips(store: Any) -> None:
    stored = attempt(subject="ada", oidc_state=None)
    store.create_attempt(stored)
    assert store.get_attempt(stored.attempt_id, NOW) == stored


def test_an_expired_attempt_reads_as_absent(store: Any) -> None:
    stored = attempt(expires_at=int(NOW) - 1)
    store.create_attempt(stored)
    assert store.get_attempt(stored.attempt_id, NOW) is None


def test_attempt_writes_are_conditional_on_the_version(store: Any) -> None:
    stored = attempt()
    store.create_attempt(stored)
    with pytest.raises(StaleWrite):
        store.create_attempt(stored)
    store.save_attempt(attempt(attempt_id=stored.attempt_id, version=2, step=Step.DECIDING))
    with pytest.raises(StaleWrite):
        store.save_attempt(attempt(attempt_id=stored.attempt_id, version=2, step=Step.DONE))
    assert store.get_attempt(stored.attempt_id, NOW).step is Step.DECIDING


def test_a_token_is_claimed_once_until_it_expires(store: Any) -> None:
    token = secrets.token_hex(8)
    assert store.token_holder(token, NOW) is None
    assert store.claim_token(token, "first", int(NOW) + 60, NOW) == "first"
    assert store.claim_token(token, "second", int(NOW) + 60, NOW) == "first"
    assert store.token_holder(token, NOW) == "first"
    assert store.token_holder(token, NOW + 61) is None
    assert store.claim_token(token, "third", int(NOW) + 600, NOW + 61) == "third"


def test_connection_writes_are_conditional_and_audited(store: Any) -> None:
    organization_id = secrets.token_hex(6)
    store.save_connection(record(organization_id, 1), audit(organization_id, 1))
    with pytest.raises(StaleWrite):
        store.save_connection(record(organization_id, 1), audit(organization_id, 1))
    store.save_connection(record(organization_id, 2, status=Status.CONNECTED, desired=None, subject="ada"), audit(organization_id, 2))
    with pytest.raises(StaleWrite):
        store.save_connection(record(organization_id, 2), audit(organization_id, 2))
    stored = store.get_connection(organization_id, "ec__com_acme")
    assert (stored.status, stored.subject, stored.version) == (Status.CONNECTED, "ada", 2)
    assert [event.version for event in store.list_audit(organization_id, "ec__com_acme")] == [1, 2]


def test_the_outbox_lists_only_due_pending_decisions(store: Any) -> None:
    due, later, done = (secrets.token_hex(6) for _ in range(3))
    store.save_connection(record(due, outbox="pending", next_attempt_at=int(NOW) - 5), audit(due, 1))
    store.save_connection(record(later, outbox="pending", next_attempt_at=int(NOW) + 600), audit(later, 1))
    store.save_connection(record(done, status=Status.PENDING), audit(done, 1))
    listed = {r.organization_id for r in store.list_due(NOW, 1000)}
    assert due in listed
    assert later not in listed
    assert done not in listed


def test_connections_are_listed_page_by_page_without_repeats(store: Any) -> None:
    for _ in range(5):
        organization_id = secrets.token_hex(6)
        store.save_connection(record(organization_id), audit(organization_id, 1))
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page, cursor = store.list_connections(2, cursor)
        assert len(page) <= 2
        seen.extend(r.organization_id for r in page)
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 5
