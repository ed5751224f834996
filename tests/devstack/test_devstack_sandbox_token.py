"""POST /sandbox/token mints the JWT Zoho appends to the Connection and Revoke URLs."""

from __future__ import annotations

import warnings

import jwt
import pytest
from devstack_support import (
    CONNECTION,
    EXTENSION_API_NAME,
    HOUR_MS,
    ORGANIZATION_ID,
    ORGANIZATION_NAME,
    SECRET_KEY,
    SERVICE_BASE_URL,
    START_MS,
    USER_ID,
    FakeClock,
    decoded_segment,
)
from flask.testing import FlaskClient

from devstack.zoho_sandbox import SandboxConfig, create_app


def test_token_header_is_exactly_zohos(sandbox: FlaskClient) -> None:
    token = sandbox.post("/sandbox/token").get_json()["jwttoken"]

    assert decoded_segment(token, 0) == {"typ": "JWT", "alg": "HS256"}


def test_token_defaults_to_the_configured_installation_with_exp_in_milliseconds(sandbox: FlaskClient) -> None:
    response = sandbox.post("/sandbox/token")

    assert response.status_code == 200
    assert set(response.get_json()) == {"jwttoken"}
    claims = jwt.decode(response.get_json()["jwttoken"], SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "user_id": USER_ID,
        "organization_id": ORGANIZATION_ID,
        "organization_name": ORGANIZATION_NAME,
        "exp": START_MS + HOUR_MS,
    }


def test_token_exp_follows_the_injected_clock(sandbox: FlaskClient, clock: FakeClock) -> None:
    clock.advance(90.5)

    token = sandbox.post("/sandbox/token", json={}).get_json()["jwttoken"]

    assert decoded_segment(token, 1)["exp"] == START_MS + 90_500 + HOUR_MS


def test_token_carries_the_installation_fields_verbatim(sandbox: FlaskClient) -> None:
    installation = {"organization_id": "777", "organization_name": '<b>O\'Brien & "Sons"</b>', "user_id": "42"}

    token = sandbox.post("/sandbox/token", json=installation).get_json()["jwttoken"]

    assert decoded_segment(token, 1) == {**installation, "exp": START_MS + HOUR_MS}


def test_token_fields_are_each_optional(sandbox: FlaskClient) -> None:
    token = sandbox.post("/sandbox/token", json={"organization_name": "Acme"}).get_json()["jwttoken"]

    assert decoded_segment(token, 1) == {
        "user_id": USER_ID,
        "organization_id": ORGANIZATION_ID,
        "organization_name": "Acme",
        "exp": START_MS + HOUR_MS,
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"organization_id": 60012345678}, "organization_id must be a string"),
        ({"organization_name": None}, "organization_name must be a string"),
        ({"user_id": ["1"]}, "user_id must be a string"),
        ({"org_id": "1"}, "unknown fields: org_id"),
        (["organization_id"], "the body must be a JSON object"),
        ("60012345678", "the body must be a JSON object"),
    ],
)
def test_token_rejects_malformed_installations(sandbox: FlaskClient, body: object, error: str) -> None:
    response = sandbox.post("/sandbox/token", json=body)

    assert response.status_code == 400
    assert response.get_json() == {"error": error}


def test_token_rejects_a_body_that_is_not_json(sandbox: FlaskClient) -> None:
    response = sandbox.post("/sandbox/token", data="organization_id=1", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response.get_json() == {"error": "the body must be a JSON object"}


def test_short_secret_keys_sign_without_warnings(clock: FakeClock) -> None:
    config = SandboxConfig(
        secret_key="short",
        extension_api_name=EXTENSION_API_NAME,
        connections=(CONNECTION,),
        service_base_url=SERVICE_BASE_URL,
        clock=clock,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        token = create_app(config).test_client().post("/sandbox/token").get_json()["jwttoken"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        assert jwt.decode(token, "short", algorithms=["HS256"], options={"verify_exp": False})["user_id"] == USER_ID
