"""The operator's surface (IAM-authorized admin API) and EventBridge events on confirmations."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chalicelib.events import EventBridgePublisher
from chalicelib.models import ConnectionRecord, Status
from devstack.stack import LocalStack
from tests.conftest import CONNECTION, Browser, Installation


def test_every_admin_route_requires_iam_authorization() -> None:
    from chalice import IAMAuthorizer

    from app import app

    admin_routes = {path: methods for path, methods in app.routes.items() if path.startswith("/admin")}
    assert sorted(admin_routes) == [
        "/admin/connections",
        "/admin/connections/{organization_id}/{connection}",
        "/admin/connections/{organization_id}/{connection}/retry",
        "/admin/connections/{organization_id}/{connection}/revoke",
    ]
    for methods in admin_routes.values():
        assert all(isinstance(entry.authorizer, IAMAuthorizer) for entry in methods.values())


@pytest.fixture(autouse=True)
def unsigned_admin_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """chalice.test.Client carries no IAM identity; the test session opts in, as a developer may."""
    monkeypatch.setenv("ADMIN_API_ALLOW_UNSIGNED", "true")


def test_unsigned_admin_calls_are_refused_where_no_authorizer_runs(service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_API_ALLOW_UNSIGNED")
    for method, path in (("GET", "/admin/connections"), ("POST", f"/admin/connections/1/{CONNECTION}/revoke")):
        response = getattr(service.http, method.lower())(path)
        assert (response.status_code, json.loads(response.body)["error"]) == (403, "unauthorized")


def test_admin_shows_a_connection_with_its_audit_trail(browser: Browser, installation: Installation) -> None:
    browser.decide(browser.connect(installation), "allow")
    response = browser.client.http.get(f"/admin/connections/{installation.organization_id}/{CONNECTION}")
    body = json.loads(response.body)
    assert (response.status_code, response.headers["Content-Type"]) == (200, "application/json")
    assert (body["connection"]["status"], body["connection"]["subject"]) == ("connected", "ada@acme.example")
    assert [(event["from_status"], event["to_status"]) for event in body["audit"]] == [(None, "pending"), ("pending", "connected")]


def test_admin_lists_connections_page_by_page(browser: Browser, stack: LocalStack) -> None:
    for _ in range(3):
        browser.decide(browser.connect(Installation()), "allow")
    first = json.loads(browser.client.http.get("/admin/connections?limit=2").body)
    assert len(first["connections"]) == 2
    assert first["next"]
    second = json.loads(browser.client.http.get(f"/admin/connections?limit=2&after={first['next']}").body)
    assert {c["organization_id"] for c in first["connections"]}.isdisjoint(c["organization_id"] for c in second["connections"])


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("limit=0", 400, "bad_admin_request"),
        ("limit=x", 400, "bad_admin_request"),
        ("limit=101", 400, "bad_admin_request"),
        ("limit=%D9%A3", 400, "bad_admin_request"),  # an Arabic-Indic 3: int() takes it
        ("limit=5_0", 400, "bad_admin_request"),
        ("limit=%2B5", 400, "bad_admin_request"),
        ("limit=%205%20", 400, "bad_admin_request"),
        ("limit=" + "9" * 5000, 400, "bad_admin_request"),
    ],
)
def test_admin_refuses_bad_listing_parameters(service: Any, query: str, status: int, error: str) -> None:
    response = service.http.get(f"/admin/connections?{query}")
    assert (response.status_code, json.loads(response.body)["error"]) == (status, error)


def test_admin_force_revoke_tells_zoho_and_forgets_the_account(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    import requests

    browser.decide(browser.connect(installation), "allow")
    response = browser.client.http.post(f"/admin/connections/{installation.organization_id}/{CONNECTION}/revoke")
    body = json.loads(response.body)
    assert (response.status_code, body["confirmed"], body["connection"]["status"], body["connection"]["subject"]) == (200, True, "revoked", None)
    calls = requests.get(f"{stack.sandbox_url}/sandbox/calls", timeout=5).json()
    assert [(c["action"], c["valid"]) for c in calls] == [("mark_as_connected", True), ("mark_as_revoked", True)]


def test_admin_unknown_connection_is_a_json_404(service: Any) -> None:
    response = service.http.get(f"/admin/connections/999/{CONNECTION}")
    assert (response.status_code, json.loads(response.body)["error"]) == (404, "connection_not_found")


def test_admin_retry_of_a_connected_record_is_refused(browser: Browser, installation: Installation) -> None:
    browser.decide(browser.connect(installation), "allow")
    response = browser.client.http.post(f"/admin/connections/{installation.organization_id}/{CONNECTION}/retry")
    assert (response.status_code, json.loads(response.body)["message"]) == (400, "nothing to retry: the connection is connected")


def test_confirmed_connections_are_published_to_eventbridge(stack: LocalStack) -> None:
    events, sqs = stack.aws_client("events"), stack.aws_client("sqs")
    events.create_event_bus(Name="acme-bus")
    queue_url = sqs.create_queue(QueueName="acme-connections")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="zoho", EventBusName="acme-bus", EventPattern=json.dumps({"source": ["zoho-external-connections"]}))
    events.put_targets(Rule="zoho", EventBusName="acme-bus", Targets=[{"Id": "queue", "Arn": queue_arn}])
    record = ConnectionRecord(
        organization_id="600111",
        connection=CONNECTION,
        status=Status.CONNECTED,
        organization_name="Zylker",
        zoho_user_id="u1",
        dc="com",
        created_at=1,
        updated_at=2,
        subject="ada@acme.example",
        confirmed_at=2,
        version=2,
    )
    EventBridgePublisher(events, "acme-bus").publish(record)
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    event = json.loads(messages[0]["Body"])
    assert (event["source"], event["detail-type"]) == ("zoho-external-connections", "Zoho Connection Connected")
    assert event["detail"] == {
        "organization_id": "600111",
        "organization_name": "Zylker",
        "connection": CONNECTION,
        "status": "connected",
        "subject": "ada@acme.example",
        "zoho_user_id": "u1",
        "data_center": "com",
        "confirmed_at": 2,
        "version": 2,
    }


def _cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "e30",
        "eyJwayI6IDF9",
        "%7B%7D",
        base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode().rstrip("="),  # nested past the recursion limit
        _cursor({"pk": {"S": "ORG#" + "6" * 3000}, "sk": {"S": "CONN#ec__com_acme"}}),  # over DynamoDB's key size
        _cursor({"pk": {"S": ""}, "sk": {"S": ""}}),
        _cursor({"pk": {"S": "ORG#1", "N": "1"}, "sk": {"S": "CONN#x"}}),
        _cursor({"pk": {"S": "ORG#\ud800"}, "sk": {"S": "CONN#x"}}),
        "A" * 5000,
    ],
)
def test_admin_refuses_a_cursor_it_did_not_make(service: Any, cursor: str) -> None:
    response = service.http.get(f"/admin/connections?after={cursor}")
    assert (response.status_code, json.loads(response.body)["error"]) == (400, "bad_admin_request")


@pytest.mark.parametrize("path", [f"/admin/connections/{'6' * 600}/{CONNECTION}", "/admin/connections/600111/ec__com_not_served"])
def test_admin_ids_no_record_can_have_are_a_404_without_a_lookup(service: Any, path: str) -> None:
    response = service.http.get(path)
    assert (response.status_code, json.loads(response.body)["error"]) == (404, "connection_not_found")
