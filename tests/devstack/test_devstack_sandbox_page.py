"""The sandbox's extension page, its configuration and the postMessage record."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from devstack_support import CONNECTION, EXTENSION_API_NAME, OTHER_CONNECTION, SECRET_KEY, SERVICE_BASE_URL, START_TIME, FakeClock
from flask.testing import FlaskClient

from devstack.zoho_sandbox import SandboxConfig, create_app


def make_config(**overrides: Any) -> SandboxConfig:
    fields: dict[str, Any] = {
        "secret_key": SECRET_KEY,
        "extension_api_name": EXTENSION_API_NAME,
        "connections": (CONNECTION,),
        "service_base_url": SERVICE_BASE_URL,
    }
    fields.update(overrides)
    return SandboxConfig(**fields)


def page_config(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="sandbox-config" type="application/json">(.*?)</script>', html, re.DOTALL)
    assert match is not None
    parsed = json.loads(match.group(1))
    assert isinstance(parsed, dict)
    return parsed


def test_the_page_has_a_card_with_stable_test_ids_per_connection(sandbox: FlaskClient) -> None:
    response = sandbox.get("/")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    for name in (CONNECTION, OTHER_CONNECTION):
        for test_id in (f"connect-{name}", f"revoke-{name}", f"status-{name}", f"api-status-{name}"):
            assert html.count(f'data-testid="{test_id}"') == 1
        assert f'<span class="badge" data-testid="status-{name}" data-status="not_connected">Not connected</span>' in html


def test_the_page_knows_the_service_urls_and_the_only_origin_it_trusts(sandbox: FlaskClient) -> None:
    html = sandbox.get("/").get_data(as_text=True)

    assert page_config(html) == {
        "serviceOrigin": "http://localhost:8000",
        "connections": [
            {
                "name": CONNECTION,
                "connectUrl": f"http://localhost:8000/connections/{CONNECTION}/connect",
                "revokeUrl": f"http://localhost:8000/connections/{CONNECTION}/revoke",
            },
            {
                "name": OTHER_CONNECTION,
                "connectUrl": f"http://localhost:8000/connections/{OTHER_CONNECTION}/connect",
                "revokeUrl": f"http://localhost:8000/connections/{OTHER_CONNECTION}/revoke",
            },
        ],
    }


def test_the_page_opens_the_popup_inside_the_click_and_checks_the_origin(sandbox: FlaskClient) -> None:
    html = sandbox.get("/").get_data(as_text=True)

    assert 'window.open("about:blank", POPUP_NAME, POPUP_FEATURES)' in html
    assert 'const POPUP_NAME = "zoho_external_connection";' in html
    assert 'const POPUP_FEATURES = "popup,width=560,height=760";' in html
    assert "event.origin !== config.serviceOrigin" in html
    assert re.search(r'(src|href)="(https?:)?//', html) is None


def test_the_installation_form_is_prefilled_and_escaped(clock: FakeClock) -> None:
    config = make_config(organization_name='<script>alert("x")</script> & Co', organization_id="6001", user_id="4001", clock=clock)

    html = create_app(config).test_client().get("/").get_data(as_text=True)

    assert 'value="6001"' in html
    assert 'value="4001"' in html
    assert 'value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co"' in html
    assert '<script>alert("x")' not in html


def test_connection_names_cannot_break_out_of_the_page_config(clock: FakeClock) -> None:
    config = make_config(connections=("ec__</script><b>",), clock=clock)

    html = create_app(config).test_client().get("/").get_data(as_text=True)

    assert "</script><b>" not in html
    assert page_config(html)["connections"][0]["connectUrl"] == "http://localhost:8000/connections/ec__%3C%2Fscript%3E%3Cb%3E/connect"


@pytest.mark.parametrize(
    ("base_url", "origin", "connect_url"),
    [
        ("http://localhost:8000", "http://localhost:8000", "http://localhost:8000/connections/ec__com_acme/connect"),
        ("http://LOCALHOST:8000/", "http://localhost:8000", "http://LOCALHOST:8000/connections/ec__com_acme/connect"),
        ("https://acme.example:443/api", "https://acme.example", "https://acme.example:443/api/connections/ec__com_acme/connect"),
        ("http://127.0.0.1:80", "http://127.0.0.1", "http://127.0.0.1:80/connections/ec__com_acme/connect"),
        ("http://[::1]:8000", "http://[::1]:8000", "http://[::1]:8000/connections/ec__com_acme/connect"),
    ],
)
def test_service_origin_is_spelled_as_browsers_spell_event_origin(base_url: str, origin: str, connect_url: str) -> None:
    config = make_config(service_base_url=base_url)

    assert config.service_origin == origin
    assert config.connection_url(CONNECTION) == connect_url
    assert config.revoke_url(CONNECTION) == connect_url.removesuffix("/connect") + "/revoke"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"secret_key": ""}, "secret_key must not be empty"),
        ({"extension_api_name": ""}, "extension_api_name must not be empty"),
        ({"connections": ()}, "connections must be a non-empty tuple of non-empty names"),
        ({"connections": ("",)}, "connections must be a non-empty tuple of non-empty names"),
        ({"service_base_url": "localhost:8000"}, "service_base_url must be an absolute http(s) URL: 'localhost:8000'"),
        ({"service_base_url": "ftp://localhost"}, "service_base_url must be an absolute http(s) URL: 'ftp://localhost'"),
        ({"service_base_url": "http://localhost:port"}, "Port could not be cast to integer value as 'port'"),
    ],
)
def test_a_config_that_cannot_work_is_refused_at_once(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make_config(**overrides)


def test_received_messages_are_recorded_in_order(sandbox: FlaskClient, clock: FakeClock) -> None:
    first = {"external_connector_api_name": CONNECTION, "connection_status": "connected"}
    second = {"external_connector_api_name": CONNECTION, "connection_status": "revoked"}

    assert sandbox.post("/sandbox/messages", json={"origin": "http://localhost:8000", "data": first}).status_code == 201
    clock.advance(2)
    assert sandbox.post("/sandbox/messages", json={"origin": "http://localhost:8000", "data": second}).status_code == 201

    assert sandbox.get("/sandbox/messages").get_json() == [
        {"origin": "http://localhost:8000", "data": first, "received_at": START_TIME},
        {"origin": "http://localhost:8000", "data": second, "received_at": START_TIME + 2},
    ]


@pytest.mark.parametrize(
    "body",
    [{"data": {}}, {"origin": 1, "data": {}}, {"origin": "http://localhost:8000", "data": {}, "extra": 1}, [1]],
)
def test_malformed_message_records_are_400s(sandbox: FlaskClient, body: object) -> None:
    response = sandbox.post("/sandbox/messages", json=body)

    assert response.status_code == 400
    assert response.get_json() == {"error": 'the body must be {"origin": <string>, "data": <any>}'}
    assert sandbox.get("/sandbox/messages").get_json() == []


def test_health(sandbox: FlaskClient) -> None:
    response = sandbox.get("/sandbox/health")

    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
