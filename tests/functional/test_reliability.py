"""Reliability: Zoho's faults, concurrent clicks, the reconciler, and AWS failing underneath.

Each case asserts what the person sees, how long it took, the final record and the number of PUTs."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from chalicelib import bootstrap
from chalicelib.flow import Flows, Web
from chalicelib.models import Attempt, Kind, Outcome, Status, Step
from chalicelib.telemetry import RECONCILIATION_GIVE_UPS, RecordingTelemetry
from chalicelib.zoho_token import ZohoClaims
from devstack.stack import LocalStack
from tests.conftest import CONNECTION, Browser, Installation, csrf_of, text_of

HTML = "text/html; charset=utf-8"
TIMINGS: list[tuple[str, float]] = []  # printed at the end of the run (tests/functional/conftest.py)


def fault(stack: LocalStack, mode: str, times: int | None = None, delay: float = 0.0, retry_after: int | None = None) -> None:
    body = {"mode": mode, "times": times, "delay": delay, "retry_after": retry_after}
    requests.post(f"{stack.sandbox_url}/sandbox/faults", json=body, timeout=5).raise_for_status()


def puts(stack: LocalStack) -> list[dict[str, Any]]:
    return list(requests.get(f"{stack.sandbox_url}/sandbox/calls", timeout=5).json())


def record_of(stack: LocalStack, organization_id: str) -> Any:
    return bootstrap.flows().store.get_connection(organization_id, CONNECTION)


# mode, times, delay, retry_after -> page status, outcome, record status, last error, PUTs
MATRIX = [
    ("ok", None, 0.0, None, 200, "Connected", "connected", None, 1),
    ("code", None, 0.0, None, 200, "Not confirmed", "pending", "zoho_code_nonzero", 1),
    ("http_400", None, 0.0, None, 200, "Not confirmed", "pending", "zoho_http_400", 1),
    ("http_401", None, 0.0, None, 200, "Not confirmed", "pending", "zoho_http_401", 1),
    ("http_404", None, 0.0, None, 200, "Not confirmed", "pending", "zoho_http_404", 1),
    ("http_429", 1, 0.0, 1, 200, "Connected", "connected", None, 2),
    ("http_429", None, 0.0, 1, 200, "Not confirmed", "pending", "zoho_http_429", 3),
    ("http_500", 1, 0.0, None, 200, "Connected", "connected", None, 2),
    ("http_500", 2, 0.0, None, 200, "Connected", "connected", None, 3),
    ("http_500", None, 0.0, None, 200, "Not confirmed", "pending", "zoho_http_500", 3),
    ("html", None, 0.0, None, 200, "Not confirmed", "pending", "zoho_http_502", 3),
    ("slow", None, 2.0, None, 200, "Connected", "connected", None, 1),
    ("hang", 1, 30.0, None, 200, "Connected", "connected", None, 2),
    ("hang", None, 30.0, None, 200, "Not confirmed", "pending", "zoho_timeout", 3),
]


@pytest.mark.parametrize(
    ("mode", "times", "delay", "retry_after", "status", "outcome", "record_status", "error", "put_count"),
    MATRIX,
    ids=[f"{row[0]}-{row[1] or 'always'}" for row in MATRIX],
)
def test_zoho_fault_matrix(
    browser: Browser,
    stack: LocalStack,
    installation: Installation,
    mode: str,
    times: int | None,
    delay: float,
    retry_after: int | None,
    status: int,
    outcome: str,
    record_status: str,
    error: str | None,
    put_count: int,
) -> None:
    consent = browser.connect(installation)
    fault(stack, mode, times, delay, retry_after)
    started = time.monotonic()
    decided = browser.decide(consent, "allow")
    elapsed = time.monotonic() - started
    TIMINGS.append((f"decision, Zoho {mode} ({times or 'always'})", elapsed))
    fault(stack, "ok")
    page = browser.get("/flow")
    assert (decided.status_code, page.status_code, page.headers["Content-Type"]) == (303, status, HTML)
    assert f"{outcome} " in text_of(page)
    record = record_of(stack, installation.organization_id)
    assert (record.status.value, record.last_error, record.lease_owner) == (record_status, error, None)
    assert (record.outbox is None) is (record_status == "connected")
    assert len(puts(stack)) == put_count
    # Not a speed target: the retry budget's guarantee that the person gets a page before API
    # Gateway's 29 s limit cuts the request off (the budget itself is 20 s).
    assert elapsed < 27.0


def test_a_failed_confirmation_can_be_retried_from_the_page(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    consent = browser.connect(installation)
    fault(stack, "http_500")
    browser.decide(consent, "allow")
    failed = browser.get("/flow")
    fault(stack, "ok")
    browser.post("/flow/retry", {"csrf_token": csrf_of(failed)})
    assert "is connected to Acme" in text_of(browser.get("/flow"))
    assert [call["http_status"] for call in puts(stack)] == [500, 500, 500, 200]


@pytest.fixture
def in_process(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flows, RecordingTelemetry]]:
    """The service's flows wired to the stack, with metrics counted in memory."""
    env = {**stack.stage_env, **stack.service_environment()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    telemetry = RecordingTelemetry()
    bootstrap.reset()
    flows = bootstrap.build(os.environ, telemetry=telemetry)
    monkeypatch.setattr(bootstrap, "_flows", flows)
    requests.post(f"{stack.sandbox_url}/sandbox/reset", timeout=5).raise_for_status()
    yield flows, telemetry
    bootstrap.reset()


def make_due(stack: LocalStack, organization_id: str) -> None:
    """Skip a decision's backoff (the clock is Zoho's too: moving ours would break token expiry)."""
    stack.aws_client("dynamodb").update_item(
        TableName=stack.table_name,
        Key={"pk": {"S": f"ORG#{organization_id}"}, "sk": {"S": f"CONN#{CONNECTION}"}},
        UpdateExpression="SET next_attempt_at = :now",
        ExpressionAttributeValues={":now": {"N": str(int(time.time()) - 1)}},
    )


def drain_outbox(stack: LocalStack, flows: Flows) -> None:
    """Other tests leave decisions in the shared table's outbox: confirm them all first."""
    for _ in range(20):
        waiting = flows.store.list_due(time.time() + 30 * 24 * 3600, 25)
        if not waiting:
            return
        for record in waiting:
            make_due(stack, record.organization_id)
        bootstrap.reconciler().run()
    raise AssertionError("the outbox did not drain")


def deciding_attempt(flows: Flows, kind: Kind, organization_id: str, n: int) -> Attempt:
    now = int(time.time())
    attempt = Attempt(
        attempt_id=secrets.token_urlsafe(32),
        kind=kind,
        connection=CONNECTION,
        claims=ZohoClaims(user_id="4000000012345", organization_id=organization_id, organization_name="Zylker", exp_ms=(now + 3600) * 1000),
        token_hash=f"token-{organization_id}-{kind.value}-{n}",
        dc="com",
        csrf_token=f"csrf-{n}",
        expires_at=now + 3600,
        step=Step.DECIDING,
        created_at=now,
        flow_id=f"flow-{kind.value}-{n}",
        step_at=now,
        subject="ada@acme.example" if kind is Kind.CONNECT else None,
        subject_label="ada@acme.example" if kind is Kind.CONNECT else None,
        version=1,
    )
    flows.store.create_attempt(attempt)
    return attempt


def run_at_once(jobs: list[Any]) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Any) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # collected and asserted on by the caller
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return failures


def test_twenty_concurrent_connects_and_revokes_end_consistent_with_one_put_per_transition(
    stack: LocalStack, in_process: tuple[Flows, RecordingTelemetry]
) -> None:
    flows, _ = in_process
    organization_id = Installation().organization_id
    web = Web(stack.service_url)
    attempts = [deciding_attempt(flows, Kind.CONNECT if n % 2 == 0 else Kind.REVOKE, organization_id, n) for n in range(20)]
    decisions = {Kind.CONNECT: "allow", Kind.REVOKE: "revoke"}
    failures = run_at_once([lambda a=a: flows.decide(a.attempt_id, {"csrf_token": a.csrf_token, "decision": decisions[a.kind]}, web=web) for a in attempts])
    assert sorted({repr(f) for f in failures}) == []

    ended = [flows.store.get_attempt(a.attempt_id, time.time()) for a in attempts]
    assert [(a.flow_id, a.step, a.outcome, a.failure_reason) for a in ended if a is not None and a.step is not Step.DONE] == []
    assert {a.outcome for a in ended if a is not None} <= {Outcome.CONNECTED, Outcome.REVOKED}
    record = flows.store.get_connection(organization_id, CONNECTION)
    assert record is not None
    assert (record.lease_owner, record.outbox, record.desired) == (None, None, None)
    valid = [call for call in puts(stack) if call["valid"]]
    confirmed_transitions = [e for e in flows.store.list_audit(organization_id, CONNECTION) if e.to_status in ("connected", "revoked")]
    # Every PUT is one transition of the record, in the same order, and the record ends where Zoho does.
    assert len(valid) == len(puts(stack)) == len(confirmed_transitions)
    assert [call["action"] for call in valid] == [f"mark_as_{e.to_status}" for e in confirmed_transitions]
    assert f"mark_as_{record.status.value}" == valid[-1]["action"]
    assert 2 <= len(valid) <= 20


def test_twenty_concurrent_submits_of_one_attempt_make_one_put(stack: LocalStack, in_process: tuple[Flows, RecordingTelemetry]) -> None:
    flows, _ = in_process
    organization_id = Installation().organization_id
    attempt = deciding_attempt(flows, Kind.CONNECT, organization_id, 0)
    web = Web(stack.service_url)
    failures = run_at_once([lambda: flows.decide(attempt.attempt_id, {"csrf_token": attempt.csrf_token, "decision": "allow"}, web=web)] * 20)
    assert failures == []
    assert len(puts(stack)) == 1
    ended = flows.store.get_attempt(attempt.attempt_id, time.time())
    assert ended is not None
    assert ended.outcome is Outcome.CONNECTED


def test_the_reconciler_confirms_what_zoho_failed_and_the_page_then_shows_it(
    browser: Browser, stack: LocalStack, installation: Installation, in_process: tuple[Flows, RecordingTelemetry]
) -> None:
    flows, _ = in_process
    drain_outbox(stack, flows)
    consent = browser.connect(installation)
    fault(stack, "http_500")
    browser.decide(consent, "allow")
    assert "Not confirmed" in text_of(browser.get("/flow"))
    pending = flows.store.get_connection(installation.organization_id, CONNECTION)
    assert pending is not None
    assert (pending.status, pending.outbox, pending.confirm_attempts) == (Status.PENDING, "pending", 1)

    assert flows.store.list_due(time.time(), 25) == []  # backoff: not due yet
    fault(stack, "ok")
    make_due(stack, installation.organization_id)
    report = bootstrap.reconciler().run()
    assert (report.confirmed, report.not_confirmed) == (1, 0)
    record = flows.store.get_connection(installation.organization_id, CONNECTION)
    assert record is not None
    assert (record.status, record.outbox, record.subject) == (Status.CONNECTED, None, "ada@acme.example")
    page = browser.get("/flow")  # the person's page now tells the truth, and posts it to Zoho
    assert page.status_code == 200
    assert '"connection_status": "connected"' in page.body.decode()


def test_the_reconciler_gives_up_after_its_limit_and_counts_it(
    browser: Browser, stack: LocalStack, installation: Installation, in_process: tuple[Flows, RecordingTelemetry]
) -> None:
    from chalicelib.confirmation import MAX_CONFIRM_ATTEMPTS

    flows, telemetry = in_process
    drain_outbox(stack, flows)
    consent = browser.connect(installation)
    fault(stack, "http_400")
    browser.decide(consent, "allow")
    for _ in range(MAX_CONFIRM_ATTEMPTS - 1):  # the person's own try was the first
        make_due(stack, installation.organization_id)
        bootstrap.reconciler().run()
    record = flows.store.get_connection(installation.organization_id, CONNECTION)
    assert record is not None
    assert (record.status, record.desired, record.last_error, record.confirm_attempts, record.outbox) == (
        Status.FAILED,
        Status.CONNECTED,
        "zoho_http_400",
        MAX_CONFIRM_ATTEMPTS,
        None,
    )
    assert telemetry.counts[(RECONCILIATION_GIVE_UPS, None)] == 1
    assert len(puts(stack)) == MAX_CONFIRM_ATTEMPTS

    fault(stack, "ok")  # an operator fixes the cause and retries
    from chalicelib import admin

    result = admin.retry(flows, installation.organization_id, CONNECTION)
    assert (result["confirmed"], result["connection"]["status"]) == (True, "connected")


@pytest.mark.parametrize(
    ("variable", "path"),
    [
        ("AWS_ENDPOINT_URL_DYNAMODB", "connect"),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "connect"),
        ("AWS_ENDPOINT_URL_DYNAMODB", "revoke"),
    ],
)
def test_aws_unreachable_is_a_clear_503_page(service: Any, stack: LocalStack, monkeypatch: pytest.MonkeyPatch, variable: str, path: str) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:9")
    bootstrap.reset()
    started = time.monotonic()
    response = service.http.get(f"/connections/{CONNECTION}/{path}?jwttoken={Installation().token(stack)}")
    elapsed = time.monotonic() - started
    TIMINGS.append((f"{path} URL, {variable} down", elapsed))
    assert (response.status_code, response.headers["Content-Type"]) == (503, HTML)
    assert "The service is temporarily unavailable. Please try again in a minute." in text_of(response)
    assert elapsed < 27.0  # a page before API Gateway's 29 s limit, not a speed target


def test_dynamodb_throttling_on_the_decision_leaves_no_partial_state(
    browser: Browser, stack: LocalStack, installation: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    consent = browser.connect(installation)
    client = bootstrap.flows().store._client  # type: ignore[attr-defined]
    real = client.transact_write_items

    def throttled(**kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "TransactionCanceledException", "Message": "throttled"}, "CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}]},
            "TransactWriteItems",
        )

    monkeypatch.setattr(client, "transact_write_items", throttled)
    refused = browser.decide(consent, "allow")
    assert (refused.status_code, refused.headers["Content-Type"]) == (503, HTML)
    assert record_of(stack, installation.organization_id) is None
    assert puts(stack) == []
    monkeypatch.setattr(client, "transact_write_items", real)
    page = browser.get("/flow")
    assert "Try again" in text_of(page)
    browser.post("/flow/retry", {"csrf_token": csrf_of(page)})
    assert "is connected to Acme" in text_of(browser.get("/flow"))


def test_a_record_changed_since_the_rebinding_read_is_read_again_not_overwritten(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    """A connect decision hands the record it read for the rebinding check to the confirmer. If the
    record changes in between (here: a revoke completes), the conditional write fails and the
    confirmer reads it again: the decision lands on top of the revoke, with one more PUT."""
    from chalicelib.models import Decision

    browser.decide(browser.connect(installation), "allow")
    seen = record_of(stack, installation.organization_id)
    other = Browser(browser.client, stack)
    other.start("revoke", installation.token(stack))
    assert other.decide(other.get("/flow"), "revoke").status_code == 303
    assert (seen.version, record_of(stack, installation.organization_id).version) == (2, 4)
    put_count = len(puts(stack))

    claims = ZohoClaims(user_id=installation.user_id, organization_id=installation.organization_id, organization_name="Zylker Industries", exp_ms=0)
    decision = Decision(
        claims=claims,
        connection=CONNECTION,
        dc="com",
        target=Status.CONNECTED,
        owner="flow-stale-read",
        started_ms=int(time.time() * 1000),
        subject="ada@acme.example",
    )
    result = bootstrap.flows().confirmer.decide(decision, seen=seen)

    final = record_of(stack, installation.organization_id)
    assert (result.confirmed, final.status, final.version, final.flow_id) == (True, Status.CONNECTED, 6, "flow-stale-read")
    assert [(call["action"], call["valid"]) for call in puts(stack)[put_count:]] == [("mark_as_connected", True)]
