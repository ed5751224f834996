"""Rendering: hostile names are escaped in HTML and inside the postMessage data; pages never fail."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import FlowError
from chalicelib.models import Attempt, Kind, Outcome, Step
from chalicelib.pages import Page, render, security_headers
from chalicelib.zoho_token import ZohoClaims

HOSTILE = [
    "<script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "Zylker & Sons <b>",
    "\u202eevil\u202c Corp \u05e9\u05dc\u05d5\u05dd",
    "{{ 7*7 }} {% raw %}",
    "<!--",
    "x" * 512,
]


def attempt(name: str, kind: Kind = Kind.CONNECT, outcome: Outcome | None = None) -> Attempt:
    return Attempt(
        attempt_id="a",
        kind=kind,
        connection="ec__com_acme",
        claims=ZohoClaims(user_id=name, organization_id=name, organization_name=name, exp_ms=0),
        token_hash="h",
        dc="com",
        csrf_token="csrf",
        expires_at=0,
        step=Step.DONE if outcome else Step.DECIDING,
        created_at=0,
        subject_label=name,
        outcome=outcome,
        failure_reason=name if outcome is Outcome.NOT_CONFIRMED else None,
    )


def page_for(template: str, name: str) -> Page:
    outcome = {"result.html": Outcome.CONNECTED}.get(template)
    item = attempt(name, Kind.REVOKE if template == "revoke.html" else Kind.CONNECT, outcome)
    context: dict[str, object] = {
        "attempt": item,
        "claims": item.claims,
        "connection": item.connection,
        "csrf_token": "csrf",
        "decision_url": "https://x/flow/decision",
        "retry_url": "https://x/flow/retry",
        "flow_url": "https://x/flow",
        "record": None,
        "outcome": outcome.value if outcome else "",
        "error": FlowError(name, reason="r"),
    }
    if outcome:
        context["post_message"] = {
            "message": {"external_connector_api_name": name, "connection_status": "connected"},
            "target_origin": "https://books.zoho.com",
        }
    return Page(template, context)


def visible_markup(html: str) -> str:
    """The HTML with the JSON data block removed (checked separately)."""
    return re.sub(r'<script type="application/json" id="zoho-status">.*?</script>', "", html, flags=re.S)


@pytest.mark.parametrize("template", ["consent.html", "revoke.html", "result.html", "error.html", "working.html"])
@pytest.mark.parametrize("name", HOSTILE)
def test_names_are_escaped_in_every_page(template: str, name: str) -> None:
    html = render(page_for(template, name), nonce="n0nce", product_name="Acme <Corp>")
    markup = visible_markup(html)
    assert "<script>alert" not in markup
    assert "<img" not in markup
    assert "<b>" not in markup
    assert "Acme <Corp>" not in html
    assert markup.count("<script") == markup.count('<script nonce="n0nce">') >= 1  # only our own scripts
    if template != "working.html":
        assert "&lt;" in markup or "<" not in name


@pytest.mark.parametrize("name", HOSTILE)
def test_the_post_message_data_cannot_close_its_script(name: str) -> None:
    html = render(page_for("result.html", name), nonce="n0nce", product_name="Acme")
    block = html.split('<script type="application/json" id="zoho-status">')[1].split("</script>")[0]
    assert "<" not in block
    assert ">" not in block
    assert json.loads(block)["message"]["external_connector_api_name"] == name


def test_every_script_and_style_carries_this_responses_nonce() -> None:
    html = render(page_for("result.html", "Zylker"), nonce="n0nce", product_name="Acme")
    executable = re.findall(r"<script(?![^>]*application/json)[^>]*>", html)
    assert executable
    assert all('nonce="n0nce"' in tag for tag in executable)
    assert all('nonce="n0nce"' in tag for tag in re.findall(r"<style[^>]*>", html))
    assert "'nonce-n0nce'" in security_headers("n0nce")["Content-Security-Policy"]


@settings(max_examples=150, deadline=None)
@given(name=st.text(max_size=600), template=st.sampled_from(["consent.html", "revoke.html", "result.html", "error.html"]))
def test_any_name_renders_and_never_opens_a_tag(name: str, template: str) -> None:
    html = render(page_for(template, name), nonce="n", product_name="Acme")
    assert "<script>" not in visible_markup(html).replace('<script nonce="n">', "")
