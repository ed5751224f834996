"""POST /sandbox/faults makes the External Connections API misbehave, for a number of calls."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from devstack_support import CONNECTION, ORGANIZATION_ID, extension_claims, sign
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from devstack.servers import BackgroundServer
from devstack.zoho_sandbox import SandboxConfig, create_app

API_PATH = f"/api/v3/settings/externalconnections/{CONNECTION}"
QUERY = {"action": "mark_as_connected", "organization_id": ORGANIZATION_ID}
CONFIRMED = {"code": 0, "message": "The external connection has been marked as connected."}


def valid_put(sandbox: FlaskClient) -> TestResponse:
    return sandbox.put(API_PATH, query_string=QUERY, headers={"X-Zoho-Signature": sign(extension_claims())})


def set_fault(sandbox: FlaskClient, **body: Any) -> TestResponse:
    response = sandbox.post("/sandbox/faults", json=body)
    assert response.status_code == 200, response.get_json()
    return response


def calls(sandbox: FlaskClient) -> list[dict[str, Any]]:
    result = sandbox.get("/sandbox/calls").get_json()
    assert isinstance(result, list)
    return result


@pytest.mark.parametrize(
    ("mode", "status", "body"),
    [
        ("code", 200, {"code": 1002, "message": "Sandbox: simulated failure"}),
        ("http_400", 400, {"code": 2, "message": "Sandbox: simulated bad request"}),
        ("http_401", 401, {"code": 57, "message": "You are not authorized to perform this operation"}),
        ("http_404", 404, {"code": 5, "message": "Invalid URL Passed"}),
        ("http_429", 429, {"code": 44, "message": "API call limit exceeded"}),
        ("http_500", 500, {"code": 500, "message": "Internal error"}),
    ],
)
def test_json_faults_replace_the_reply_and_are_recorded(sandbox: FlaskClient, mode: str, status: int, body: dict[str, Any]) -> None:
    set_fault(sandbox, mode=mode)

    response = valid_put(sandbox)

    assert response.status_code == status
    assert response.get_json() == body
    assert "Retry-After" not in response.headers
    [call] = calls(sandbox)
    assert (call["fault"], call["valid"], call["reason"], call["http_status"], call["code"]) == (mode, True, None, status, body["code"])


def test_a_fault_still_judges_the_request_underneath(sandbox: FlaskClient) -> None:
    set_fault(sandbox, mode="http_500")

    sandbox.put(API_PATH, query_string=QUERY)

    [call] = calls(sandbox)
    assert (call["fault"], call["valid"], call["reason"], call["http_status"], call["code"]) == ("http_500", False, "missing_signature", 500, 500)


def test_429_carries_retry_after_when_asked(sandbox: FlaskClient) -> None:
    set_fault(sandbox, mode="http_429", retry_after=3)

    response = valid_put(sandbox)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"


def test_html_fault_answers_502_with_a_non_json_page(sandbox: FlaskClient) -> None:
    set_fault(sandbox, mode="html")

    response = valid_put(sandbox)

    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.get_data(as_text=True).startswith("<!DOCTYPE html><html><head><title>502 Bad Gateway</title>")
    [call] = calls(sandbox)
    assert (call["fault"], call["http_status"], call["code"]) == ("html", 502, None)


@pytest.mark.parametrize("mode", ["slow", "hang"])
def test_delaying_faults_answer_normally_after_the_delay(sandbox: FlaskClient, mode: str) -> None:
    set_fault(sandbox, mode=mode, delay=0.2)

    started = time.monotonic()
    response = valid_put(sandbox)
    elapsed = time.monotonic() - started

    assert elapsed >= 0.2
    assert response.status_code == 200
    assert response.get_json() == CONFIRMED
    [call] = calls(sandbox)
    assert (call["fault"], call["valid"], call["http_status"], call["code"]) == (mode, True, 200, 0)


def test_a_delayed_call_is_recorded_before_it_is_answered(sandbox_config: SandboxConfig) -> None:
    with BackgroundServer(create_app(sandbox_config)) as server:
        requests.post(f"{server.url}/sandbox/faults", json={"mode": "hang", "delay": 1}, timeout=5).raise_for_status()
        with pytest.raises(requests.Timeout):
            requests.put(f"{server.url}{API_PATH}", params=QUERY, headers={"X-Zoho-Signature": sign(extension_claims())}, timeout=0.3)

        recorded = requests.get(f"{server.url}/sandbox/calls", timeout=5).json()

    assert [(call["fault"], call["valid"]) for call in recorded] == [("hang", True)]


@pytest.mark.parametrize(("mode", "delay"), [("slow", 2.0), ("hang", 60.0), ("http_500", 0.0)])
def test_fault_delays_default_per_mode(sandbox: FlaskClient, mode: str, delay: float) -> None:
    response = set_fault(sandbox, mode=mode)

    assert response.get_json() == {"mode": mode, "times": None, "delay": delay, "retry_after": None, "remaining": None}


def test_times_limits_the_fault_to_that_many_puts(sandbox: FlaskClient) -> None:
    assert set_fault(sandbox, mode="http_500", times=2).get_json()["remaining"] == 2

    statuses = [valid_put(sandbox).status_code for _ in range(4)]

    assert statuses == [500, 500, 200, 200]
    assert [call["fault"] for call in calls(sandbox)] == ["http_500", "http_500", None, None]
    assert sandbox.get("/sandbox/faults").get_json() == {"mode": "ok"}


def test_times_counts_every_put_even_invalid_ones(sandbox: FlaskClient) -> None:
    set_fault(sandbox, mode="code", times=1)

    sandbox.put(API_PATH, query_string=QUERY)

    assert valid_put(sandbox).get_json() == CONFIRMED


def test_a_fault_without_times_lasts_until_cleared(sandbox: FlaskClient) -> None:
    set_fault(sandbox, mode="http_500", times=None)
    assert [valid_put(sandbox).status_code for _ in range(3)] == [500, 500, 500]

    assert set_fault(sandbox, mode="ok").get_json() == {"mode": "ok"}

    assert valid_put(sandbox).status_code == 200


def test_faults_do_not_touch_the_other_endpoints(sandbox: FlaskClient) -> None:
    set_fault(sandbox, mode="http_500", times=1)

    assert sandbox.post("/sandbox/token").status_code == 200
    assert sandbox.get("/sandbox/health").get_json() == {"ok": True}
    assert sandbox.get("/").status_code == 200
    assert sandbox.get("/sandbox/faults").get_json()["remaining"] == 1


def test_times_is_exact_under_concurrent_puts(sandbox_config: SandboxConfig) -> None:
    with BackgroundServer(create_app(sandbox_config)) as server:
        requests.post(f"{server.url}/sandbox/faults", json={"mode": "http_500", "times": 5}, timeout=5).raise_for_status()
        signature = sign(extension_claims())
        statuses: list[int] = []
        lock = threading.Lock()

        def one_put() -> None:
            response = requests.put(f"{server.url}{API_PATH}", params=QUERY, headers={"X-Zoho-Signature": signature}, timeout=10)
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=one_put) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(statuses) == [200] * 15 + [500] * 5


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"mode": "explode"}, "mode must be one of: code, hang, html, http_400, http_401, http_404, http_429, http_500, ok, slow"),
        ({}, "mode must be one of: code, hang, html, http_400, http_401, http_404, http_429, http_500, ok, slow"),
        ({"mode": "code", "times": 0}, "times must be null or an integer >= 1"),
        ({"mode": "code", "times": True}, "times must be null or an integer >= 1"),
        ({"mode": "code", "times": 1.5}, "times must be null or an integer >= 1"),
        ({"mode": "slow", "delay": -1}, "delay must be a number of seconds from 0 to 600"),
        ({"mode": "slow", "delay": "1"}, "delay must be a number of seconds from 0 to 600"),
        ({"mode": "hang", "delay": 601}, "delay must be a number of seconds from 0 to 600"),
        ({"mode": "http_429", "retry_after": -1}, "retry_after must be null or an integer >= 0"),
        ({"mode": "code", "count": 1}, "unknown fields: count"),
        (["code"], "the body must be a JSON object"),
    ],
)
def test_malformed_fault_requests_are_400s_and_change_nothing(sandbox: FlaskClient, body: object, error: str) -> None:
    set_fault(sandbox, mode="code")

    response = sandbox.post("/sandbox/faults", json=body)

    assert response.status_code == 400
    assert response.get_json() == {"error": error}
    assert sandbox.get("/sandbox/faults").get_json()["mode"] == "code"


def test_reset_clears_calls_messages_and_faults(sandbox: FlaskClient) -> None:
    valid_put(sandbox)
    sandbox.post("/sandbox/messages", json={"origin": "http://localhost:8000", "data": {"connection_status": "connected"}})
    set_fault(sandbox, mode="http_500")

    response = sandbox.post("/sandbox/reset")

    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    assert calls(sandbox) == []
    assert sandbox.get("/sandbox/messages").get_json() == []
    assert sandbox.get("/sandbox/faults").get_json() == {"mode": "ok"}
    assert valid_put(sandbox).status_code == 200
