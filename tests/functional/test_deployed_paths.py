"""Every link, form action, redirect and cookie works behind an execute-api URL (stage prefix /api),
a custom domain with a base path, and a custom domain at its root: the app is invoked as Lambda is,
with API Gateway proxy events."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from chalicelib import bootstrap
from devstack.lambda_events import LambdaContext, event
from devstack.stack import LocalStack
from tests.conftest import CONNECTION, Installation


class Lambda:
    """Calls the Chalice app with REST API proxy events for one deployment shape."""

    def __init__(self, host: str, prefix: str, stage: str = "api") -> None:
        self.host, self.prefix, self.stage = host, prefix, stage
        self.cookie: str | None = None

    def __call__(self, method: str, route: str, path: str, *, query: dict[str, str] | None = None, body: str | None = None, **params: str) -> Any:
        from app import app

        headers = {"Referer": "https://books.zoho.com/"}
        if self.cookie:
            headers["Cookie"] = f"__Host-zoho_ec_attempt={self.cookie}"
        lambda_event = event(
            method, route, path, query=query, body=body, headers=headers, path_params=params or None, host=self.host, stage=self.stage, prefix=self.prefix
        )
        response = app(lambda_event, LambdaContext())
        cookie = (response.get("headers") or {}).get("Set-Cookie") or ""
        if cookie.startswith("__Host-zoho_ec_attempt="):
            self.cookie = cookie.split(";", 1)[0].split("=", 1)[1] or None
        return response


@pytest.fixture
def lambda_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {**stack.stage_env, **stack.service_environment()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PUBLIC_BASE_URL")
    bootstrap.reset()
    yield
    bootstrap.reset()


SHAPES = [
    ("abc123.execute-api.eu-west-1.amazonaws.com", "/api", "https://abc123.execute-api.eu-west-1.amazonaws.com/api"),
    ("connect.acme.example", "/zoho", "https://connect.acme.example/zoho"),
    ("connect.acme.example", "", "https://connect.acme.example"),
]


@pytest.mark.usefixtures("lambda_env")
@pytest.mark.parametrize(("host", "prefix", "base"), SHAPES)
def test_revoke_flow_urls_carry_the_deployment_prefix(stack: LocalStack, host: str, prefix: str, base: str) -> None:
    call = Lambda(host, prefix)
    token = Installation().token(stack)
    started = call("GET", "/connections/{connection}/revoke", f"/connections/{CONNECTION}/revoke", query={"jwttoken": token}, connection=CONNECTION)
    assert (started["statusCode"], started["headers"]["Location"]) == (303, f"{base}/flow")
    assert started["headers"]["Set-Cookie"].endswith("; Path=/; Secure; HttpOnly; SameSite=Lax")

    page = call("GET", "/flow", "/flow")
    assert page["statusCode"] == 200
    assert f'action="{base}/flow/decision"' in page["body"]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page["body"])
    assert csrf is not None
    decided = call("POST", "/flow/decision", "/flow/decision", body=urlencode({"csrf_token": csrf.group(1), "decision": "cancel"}))
    assert (decided["statusCode"], decided["headers"]["Location"]) == (303, f"{base}/flow")


@pytest.mark.usefixtures("lambda_env")
@pytest.mark.parametrize(("host", "prefix", "base"), SHAPES)
def test_the_sign_in_redirect_uri_carries_the_deployment_prefix(stack: LocalStack, host: str, prefix: str, base: str) -> None:
    call = Lambda(host, prefix)
    started = call(
        "GET", "/connections/{connection}/connect", f"/connections/{CONNECTION}/connect", query={"jwttoken": Installation().token(stack)}, connection=CONNECTION
    )
    assert started["statusCode"] == 303
    location = started["headers"]["Location"]
    assert location.startswith(f"{stack.oidc_url}/oauth2/authorize?")
    assert parse_qs(urlsplit(location).query)["redirect_uri"] == [f"{base}/auth/callback"]
