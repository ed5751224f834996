"""Every route through chalice.test.Client, against moto server, the Zoho sandbox and the OIDC provider."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from chalicelib.store.dynamodb import DynamoStore
from devstack.stack import LocalStack
from tests.conftest import CONNECTION, COOKIE, Browser, Installation, csrf_of, text_of

HTML = "text/html; charset=utf-8"


def sandbox_calls(stack: LocalStack) -> list[dict[str, Any]]:
    return list(requests.get(f"{stack.sandbox_url}/sandbox/calls", timeout=5).json())


def record_of(stack: LocalStack, installation: Installation) -> Any:
    return DynamoStore(stack.aws_client("dynamodb"), stack.table_name).get_connection(installation.organization_id, CONNECTION)


def audit_of(stack: LocalStack, installation: Installation) -> list[tuple[str | None, str]]:
    events = DynamoStore(stack.aws_client("dynamodb"), stack.table_name).list_audit(installation.organization_id, CONNECTION)
    return [(event.from_status, event.to_status) for event in events]


def assert_security_headers(response: Any) -> None:
    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_health_is_json_without_aws_calls(service: Any) -> None:
    response = service.http.get("/health")
    assert (response.status_code, json.loads(response.body)) == (200, {"status": "ok"})


def test_connect_signs_in_asks_consent_and_tells_zoho(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    started = browser.start("connect", installation.token(stack))
    assert started.status_code == 303
    assert started.headers["Location"].startswith(f"{stack.oidc_url}/oauth2/authorize?")
    assert "code_challenge_method=S256" in started.headers["Location"]
    assert "jwttoken" not in started.headers["Location"]
    set_cookie = started.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    assert set_cookie.endswith("; Path=/; Secure; HttpOnly; SameSite=Lax")
    assert_security_headers(started)

    back = browser.sign_in(started.headers["Location"])
    assert (back.status_code, back.headers["Location"]) == (303, f"{stack.service_url}/flow")

    consent = browser.get("/flow")
    assert (consent.status_code, consent.headers["Content-Type"]) == (200, HTML)
    assert_security_headers(consent)
    page = text_of(consent)
    assert "Connect your Zoho organization to Acme?" in page
    assert f"Organization ID {installation.organization_id}" in page
    assert "Signed in as ada@acme.example" in page
    assert sandbox_calls(stack) == []

    decided = browser.decide(consent, "allow")
    assert (decided.status_code, decided.headers["Location"]) == (303, f"{stack.service_url}/flow")

    result = browser.get("/flow")
    assert result.status_code == 200
    assert "Zylker Industries is connected to Acme" in text_of(result)
    message = json.loads(result.body.decode().split('<script type="application/json" id="zoho-status">')[1].split("</script>")[0])
    assert message == {"message": {"external_connector_api_name": CONNECTION, "connection_status": "connected"}, "target_origin": stack.sandbox_url}

    calls = sandbox_calls(stack)
    assert [(call["action"], call["valid"], call["organization_id"], call["connection"]) for call in calls] == [
        ("mark_as_connected", True, installation.organization_id, CONNECTION)
    ]
    assert calls[0]["claims"]["jti"] == stack.extension_api_name
    record = record_of(stack, installation)
    assert (record.status.value, record.subject, record.desired, record.dc, record.version) == ("connected", "ada@acme.example", None, "com", 2)
    assert audit_of(stack, installation) == [(None, "pending"), ("pending", "connected")]


def test_revoke_confirms_then_tells_zoho_and_forgets_the_account(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    browser.decide(browser.connect(installation), "allow")
    started = browser.start("revoke", installation.token(stack))
    assert (started.status_code, started.headers["Location"]) == (303, f"{stack.service_url}/flow")
    confirm = browser.get("/flow")
    assert confirm.status_code == 200
    assert "Disconnect Zylker Industries from Acme?" in text_of(confirm)
    assert "Connected account ada@acme.example" in text_of(confirm)

    assert browser.decide(confirm, "revoke").status_code == 303
    result = browser.get("/flow")
    assert "Zylker Industries is disconnected from Acme" in text_of(result)
    assert '"connection_status": "revoked"' in result.body.decode()
    assert [call["action"] for call in sandbox_calls(stack) if call["valid"]] == ["mark_as_connected", "mark_as_revoked"]
    record = record_of(stack, installation)
    assert (record.status.value, record.subject, record.subject_label) == ("revoked", None, None)
    assert audit_of(stack, installation) == [(None, "pending"), ("pending", "connected"), ("connected", "pending"), ("pending", "revoked")]


def test_revoke_works_for_an_org_we_have_no_record_of(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    browser.start("revoke", installation.token(stack))
    browser.decide(browser.get("/flow"), "revoke")
    assert record_of(stack, installation).status.value == "revoked"
    assert [call["action"] for call in sandbox_calls(stack)] == ["mark_as_revoked"]


def test_deny_sends_nothing_to_zoho(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    browser.decide(browser.connect(installation), "deny")
    result = browser.get("/flow")
    assert (result.status_code, text_of(result).count("Nothing was sent to Zoho.")) == (200, 1)
    assert "zoho-status" not in result.body.decode()
    assert sandbox_calls(stack) == []
    assert record_of(stack, installation) is None


def test_cancel_on_the_revoke_page_keeps_the_connection(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    browser.decide(browser.connect(installation), "allow")
    browser.start("revoke", installation.token(stack))
    browser.decide(browser.get("/flow"), "cancel")
    assert "The connection was kept" in text_of(browser.get("/flow"))
    assert record_of(stack, installation).status.value == "connected"


def test_a_double_submit_makes_one_put_and_shows_the_same_outcome(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    consent = browser.connect(installation)
    first = browser.decide(consent, "allow")
    second = browser.decide(consent, "allow")
    assert (first.status_code, second.status_code) == (303, 303)
    assert "is connected to Acme" in text_of(browser.get("/flow"))
    assert len(sandbox_calls(stack)) == 1


def test_zoho_failure_keeps_the_consent_and_retry_completes_it(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    requests.post(f"{stack.sandbox_url}/sandbox/faults", json={"mode": "code", "times": 1}, timeout=5).raise_for_status()
    browser.decide(browser.connect(installation), "allow")
    failed = browser.get("/flow")
    assert (failed.status_code, failed.headers["Content-Type"]) == (200, HTML)
    assert "Your decision is saved, but Zoho refused the request. If this keeps happening, contact us." in text_of(failed)
    assert "Reference: zoho_code_nonzero" in text_of(failed)
    assert "zoho-status" not in failed.body.decode()
    record = record_of(stack, installation)
    assert (record.status.value, record.desired.value, record.last_error, record.subject) == ("pending", "connected", "zoho_code_nonzero", "ada@acme.example")

    retried = browser.post("/flow/retry", {"csrf_token": csrf_of(failed)})
    assert retried.status_code == 303
    assert "is connected to Acme" in text_of(browser.get("/flow"))
    assert record_of(stack, installation).status.value == "connected"
    assert [call["code"] for call in sandbox_calls(stack)] == [1002, 0]


def test_a_used_token_cannot_start_again(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    token = installation.token(stack)
    started = browser.start("connect", token)
    browser.decide(browser.get(browser.sign_in(started.headers["Location"]).headers["Location"]), "allow")
    again = browser.start("connect", token)
    assert (again.status_code, again.headers["Content-Type"]) == (409, HTML)
    assert "This link was already used" in text_of(again)


def test_an_org_connected_to_one_account_is_not_rebound_to_another(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    browser.decide(browser.connect(installation), "allow")
    other = browser.connect(installation, subject="mallory@elsewhere.example")
    assert (other.status_code, other.headers["Content-Type"]) == (409, HTML)
    assert "Already connected to another account" in text_of(other)
    assert record_of(stack, installation).subject == "ada@acme.example"


def test_the_same_account_can_connect_again(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    browser.decide(browser.connect(installation), "allow")
    browser.decide(browser.connect(installation), "allow")
    assert record_of(stack, installation).status.value == "connected"
    assert len(sandbox_calls(stack)) == 2


@pytest.mark.parametrize(
    ("path", "status", "sentence"),
    [
        ("/connections/ec__com_acme/connect", 400, "The link from Zoho carries no token."),
        ("/connections/ec__com_acme/connect?jwttoken=", 400, "The link from Zoho carries no token."),
        ("/connections/ec__com_acme/connect?jwttoken=garbage", 400, "The link from Zoho could not be verified."),
        ("/connections/ec__com_acme/connect?jwttoken=a&jwttoken=b", 400, "The link carries more than one token."),
        ("/connections/ec__com_other/connect?jwttoken=x", 404, "This service does not serve that external connection."),
        ("/connections/ec__com_acme/revoke", 400, "The link from Zoho carries no token."),
        ("/flow", 400, "We could not find your request in this browser"),
        ("/auth/callback?code=x&state=y", 400, "We could not find your request in this browser"),
    ],
)
def test_bad_requests_get_an_html_error_page(service: Any, path: str, status: int, sentence: str) -> None:
    response = service.http.get(path)
    assert (response.status_code, response.headers["Content-Type"]) == (status, HTML)
    assert sentence in text_of(response)
    assert_security_headers(response)


def test_a_token_signed_with_another_key_is_refused(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    response = browser.start("connect", installation.token(stack, key="not-the-extension-secret-key-at-all"))
    assert (response.status_code, response.headers["Content-Type"]) == (401, HTML)
    assert "does not match this extension's Secret Key" in text_of(response)


def test_an_expired_token_is_refused(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    import time

    response = browser.start("connect", installation.token(stack, now_ms=int(time.time() * 1000) - 3_700_000))
    assert (response.status_code, response.headers["Content-Type"]) == (401, HTML)
    assert "The link from Zoho has expired." in text_of(response)


@pytest.mark.parametrize(
    ("fields", "status", "sentence"),
    [
        ({"decision": "allow"}, 403, "The form you sent could not be verified."),
        ({"decision": "allow", "csrf_token": "forged"}, 403, "The form you sent could not be verified."),
        ([("csrf_token", "x"), ("csrf_token", "y"), ("decision", "allow")], 400, "The form you sent could not be read."),
    ],
)
def test_a_decision_without_the_right_csrf_token_is_refused(
    browser: Browser, stack: LocalStack, installation: Installation, fields: Any, status: int, sentence: str
) -> None:
    browser.connect(installation)
    response = browser.post("/flow/decision", fields)
    assert (response.status_code, response.headers["Content-Type"]) == (status, HTML)
    assert sentence in text_of(response)
    assert sandbox_calls(stack) == []


def test_a_decision_without_the_cookie_is_stale(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    consent = browser.connect(installation)
    browser.cookie = None
    response = browser.decide(consent, "allow")
    assert (response.status_code, response.headers["Content-Type"]) == (400, HTML)
    assert sandbox_calls(stack) == []


def test_a_decision_that_is_not_offered_is_refused(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    consent = browser.connect(installation)
    response = browser.decide(consent, "revoke")
    assert (response.status_code, response.headers["Content-Type"]) == (409, HTML)
    assert sandbox_calls(stack) == []


def test_a_tampered_state_on_the_callback_is_refused(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    started = browser.start("connect", installation.token(stack))
    reply = requests.post(started.headers["Location"], data={"sub": "ada@acme.example"}, allow_redirects=False, timeout=5)
    tampered = reply.headers["Location"].replace("state=", "state=x")
    response = browser.get(tampered)
    assert (response.status_code, response.headers["Content-Type"]) == (401, HTML)
    assert "We could not sign you in." in text_of(response)


def test_sign_in_cancelled_at_the_provider(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    started = browser.start("connect", installation.token(stack))
    reply = requests.post(started.headers["Location"], data={"action": "deny"}, allow_redirects=False, timeout=5)
    response = browser.get(reply.headers["Location"])
    assert (response.status_code, response.headers["Content-Type"]) == (401, HTML)
    assert "Sign-in was cancelled or refused." in text_of(response)


def test_two_tabs_opened_before_either_allowed_make_one_put(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    other_tab = Browser(browser.client, stack)
    first, second = browser.connect(installation), other_tab.connect(installation)
    browser.decide(first, "allow")
    other_tab.decide(second, "allow")
    assert "is connected to Acme" in text_of(other_tab.get("/flow"))
    assert len(sandbox_calls(stack)) == 1


@pytest.mark.parametrize("kind", ["connect", "revoke"])
def test_a_decision_reads_the_attempt_and_the_connection_once_each(browser: Browser, stack: LocalStack, installation: Installation, kind: str) -> None:
    from chalicelib import bootstrap

    if kind == "connect":
        page = browser.connect(installation)
    else:
        browser.decide(browser.connect(installation), "allow")
        browser.start("revoke", installation.token(stack))
        page = browser.get("/flow")
    reads: list[str] = []
    client = bootstrap.flows().store._client  # type: ignore[attr-defined]

    def keep(params: dict[str, Any], **_: Any) -> None:
        reads.append(params["Key"]["sk"]["S"].split("#", 1)[0])

    client.meta.events.register("before-parameter-build.dynamodb.GetItem", keep)
    try:
        decided = browser.decide(page, "allow" if kind == "connect" else "revoke")
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.GetItem", keep)
    assert decided.status_code == 303
    assert reads == ["ATTEMPT", "CONN"]
