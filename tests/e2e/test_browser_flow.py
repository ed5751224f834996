"""A Zoho admin's clicks, in headless Chromium, against the local stack: Connect, sign in, Allow;
then Revoke. What the Zoho page received, what Zoho was told and what the table holds are asserted."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import BrowserContext, Page

from chalicelib.store.dynamodb import DynamoStore
from devstack.stack import LocalStack

CONNECTION = "ec__com_acme"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# `make screenshots` sets this to refresh the pictures in docs/ from a real run.
TAKE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"


def snap(page: Page, name: str) -> None:
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def messages(page: Page) -> list[dict[str, Any]]:
    return [json.loads(text) for text in page.locator('[data-testid="message"] code').all_inner_texts()]


def valid_calls(stack: LocalStack) -> list[tuple[str, str]]:
    calls = requests.get(f"{stack.sandbox_url}/sandbox/calls", timeout=5).json()
    return [(call["action"], call["organization_id"]) for call in calls if call["valid"]]


def test_connect_then_revoke_in_a_real_browser(stack: LocalStack, context: BrowserContext) -> None:
    requests.post(f"{stack.sandbox_url}/sandbox/reset", timeout=5).raise_for_status()
    errors: list[str] = []
    zoho = context.new_page()
    zoho.on("pageerror", lambda error: errors.append(str(error)))
    zoho.goto(f"{stack.sandbox_url}/")
    organization_id = zoho.input_value('input[name="organization_id"]')
    snap(zoho, "1-zoho-sandbox")

    # Connect: Zoho opens our Connection URL in a popup; we send the admin to sign in.
    with zoho.expect_popup() as opened:
        zoho.click(f'[data-testid="connect-{CONNECTION}"]')
    popup = opened.value
    popup.on("pageerror", lambda error: errors.append(str(error)))
    popup.wait_for_url(f"{stack.oidc_url}/oauth2/authorize?**")
    snap(popup, "2-sign-in")
    popup.click('button[value="ada@acme.example"]')

    popup.wait_for_url(f"{stack.service_url}/flow")
    assert "jwttoken" not in popup.url
    assert popup.inner_text('[data-testid="organization-name"]') == "Zylker Industries"
    assert popup.inner_text('[data-testid="signed-in-as"]') == "ada@acme.example"
    snap(popup, "3-consent")
    popup.click('[data-testid="allow"]')

    popup.wait_for_selector('[data-testid="outcome"]')
    assert popup.inner_text('[data-testid="outcome"]') == "Connected"
    snap(popup, "4-connected")
    popup.wait_for_event("close", timeout=10_000)  # the result page closes itself once Zoho is told

    zoho.wait_for_selector('[data-testid="message"]')
    assert messages(zoho) == [{"connection_status": "connected", "external_connector_api_name": CONNECTION}]
    assert zoho.inner_text(f'[data-testid="status-{CONNECTION}"]') == "Connected"
    assert valid_calls(stack) == [("mark_as_connected", organization_id)]
    store = DynamoStore(stack.aws_client("dynamodb"), stack.table_name)
    record = store.get_connection(organization_id, CONNECTION)
    assert record is not None
    assert (record.status.value, record.subject) == ("connected", "ada@acme.example")

    # Revoke: no sign-in needed, the verified Zoho token is the authority.
    with zoho.expect_popup() as opened:
        zoho.click(f'[data-testid="revoke-{CONNECTION}"]')
    popup = opened.value
    popup.on("pageerror", lambda error: errors.append(str(error)))
    popup.wait_for_url(f"{stack.service_url}/flow")
    snap(popup, "5-revoke-confirm")
    popup.click('[data-testid="revoke"]')
    popup.wait_for_selector('[data-testid="outcome"]')
    assert popup.inner_text('[data-testid="outcome"]') == "Revoked"
    popup.wait_for_event("close", timeout=10_000)

    zoho.wait_for_function("document.querySelectorAll('[data-testid=message]').length === 2")
    assert messages(zoho)[1] == {"connection_status": "revoked", "external_connector_api_name": CONNECTION}
    assert zoho.inner_text(f'[data-testid="status-{CONNECTION}"]') == "Revoked"
    snap(zoho, "6-zoho-after-revoke")
    assert valid_calls(stack) == [("mark_as_connected", organization_id), ("mark_as_revoked", organization_id)]
    record = store.get_connection(organization_id, CONNECTION)
    assert record is not None
    assert (record.status.value, record.subject) == ("revoked", None)
    assert errors == []


def test_a_result_page_without_an_opener_says_it_can_be_closed(stack: LocalStack, context: BrowserContext) -> None:
    zoho = context.new_page()
    zoho.goto(f"{stack.sandbox_url}/")
    with zoho.expect_popup() as opened:
        zoho.click(f'[data-testid="revoke-{CONNECTION}"]')
    popup = opened.value
    popup.wait_for_url(f"{stack.service_url}/flow")
    popup.click('[data-testid="cancel"]')
    popup.wait_for_selector('[data-testid="outcome"]')
    popup.close()

    # The same attempt, reopened in a tab nobody opened: no opener, no script error, a clear note.
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(f"{stack.service_url}/flow")
    assert tab.inner_text('[data-testid="outcome"]') == "Nothing changed"
    assert tab.inner_text('[data-testid="opener-note"]') == "You can close this window and return to Zoho."
    assert errors == []


def test_an_error_page_removes_the_token_from_the_address_bar(stack: LocalStack, context: BrowserContext) -> None:
    page = context.new_page()
    response = page.goto(f"{stack.service_url}/connections/{CONNECTION}/connect?jwttoken=forged.token.value")
    assert response is not None
    assert response.status == 400
    assert page.inner_text('[data-testid="error-title"]') == "This link from Zoho is not valid"
    page.wait_for_function("!window.location.search.includes('jwttoken')")
    assert page.url == f"{stack.service_url}/connections/{CONNECTION}/connect"


HOSTILE_NAME = "</script><script>alert('x')</script> \"Zylker\" & <b>Sons</b> \u202eevil\u202c \u05e9\u05dc\u05d5\u05dd"


def test_a_hostile_organization_name_is_shown_as_text_and_runs_nothing(stack: LocalStack, context: BrowserContext) -> None:
    requests.post(f"{stack.sandbox_url}/sandbox/reset", timeout=5).raise_for_status()
    dialogs: list[str] = []
    errors: list[str] = []
    zoho = context.new_page()
    zoho.goto(f"{stack.sandbox_url}/")
    zoho.fill('input[name="organization_name"]', HOSTILE_NAME)
    zoho.fill('input[name="organization_id"]', "600777000111")
    with zoho.expect_popup() as opened:
        zoho.click(f'[data-testid="connect-{CONNECTION}"]')
    popup = opened.value
    popup.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    popup.on("pageerror", lambda error: errors.append(str(error)))
    popup.wait_for_url(f"{stack.oidc_url}/oauth2/authorize?**")
    popup.click('button[value="ada@acme.example"]')
    popup.wait_for_url(f"{stack.service_url}/flow")
    assert popup.inner_text('[data-testid="organization-name"]') == HOSTILE_NAME
    popup.click('[data-testid="allow"]')
    popup.wait_for_selector('[data-testid="outcome"]')
    assert HOSTILE_NAME in popup.inner_text("h1")
    popup.wait_for_event("close", timeout=10_000)
    zoho.wait_for_selector('[data-testid="message"]')
    assert messages(zoho) == [{"connection_status": "connected", "external_connector_api_name": CONNECTION}]
    assert (dialogs, errors) == ([], [])
