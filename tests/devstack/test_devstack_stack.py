"""The local stack's own safety nets: the service log is redacted, the sandbox page keeps its origin."""

from __future__ import annotations

import io

import pytest

from devstack.stack import _copy_redacted
from devstack.zoho_sandbox import SandboxConfig, create_app

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJvcmdhbml6YXRpb25faWQiOiIxIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        (f"GET /connections/ec/connect?jwttoken={TOKEN} HTTP/1.1", "GET /connections/ec/connect?jwttoken=[redacted] HTTP/1.1"),
        (f"GET /connections/ec/connect?JWTTOKEN={TOKEN} HTTP/1.1", "GET /connections/ec/connect?JWTTOKEN=[redacted] HTTP/1.1"),
        (f"GET /connections/ec/connect?jwttoken%5B%5D={TOKEN}&x=1 HTTP/1.1", "GET /connections/ec/connect?jwttoken%5B%5D=[redacted]&x=1 HTTP/1.1"),
        ("GET /auth/callback?code=abc123&state=xyz HTTP/1.1", "GET /auth/callback?code=[redacted]&state=[redacted] HTTP/1.1"),
        (f"anything {TOKEN} else", "anything [redacted-jwt] else"),
    ],
)
def test_the_service_log_is_redacted(line: str, logged: str) -> None:
    sink = io.BytesIO()
    _copy_redacted(io.BytesIO(line.encode() + b"\n"), sink)
    assert sink.getvalue().decode() == logged + "\n"


def test_the_sandbox_page_moves_to_its_allowlisted_origin() -> None:
    config = SandboxConfig(
        secret_key="k", extension_api_name="pu", connections=("ec",), service_base_url="http://localhost:8000", public_url="http://127.0.0.1:9200"
    )
    client = create_app(config).test_client()
    moved = client.get("/", base_url="http://localhost:9200")
    assert (moved.status_code, moved.headers["Location"]) == (302, "http://127.0.0.1:9200/")
    assert client.get("/", base_url="http://127.0.0.1:9200").status_code == 200
