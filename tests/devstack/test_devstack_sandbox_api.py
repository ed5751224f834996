"""PUT /api/v3/settings/externalconnections/<name>: Zoho's checks, replies and the call record."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from devstack_support import (
    CONNECTION,
    HOUR_MS,
    ORGANIZATION_ID,
    OTHER_CONNECTION,
    SECRET_KEY,
    START_MS,
    START_TIME,
    FakeClock,
    extension_claims,
    sign,
    unsigned_token,
)
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

NOT_AUTHORIZED = {"code": 57, "message": "You are not authorized to perform this operation"}


def put(
    sandbox: FlaskClient,
    *,
    connection: str = CONNECTION,
    action: str | None = "mark_as_connected",
    organization_id: str | None = ORGANIZATION_ID,
    signature: str | None = None,
) -> TestResponse:
    query = {name: value for name, value in (("action", action), ("organization_id", organization_id)) if value is not None}
    headers = {} if signature is None else {"X-Zoho-Signature": signature}
    return sandbox.put(f"/api/v3/settings/externalconnections/{connection}", query_string=query, headers=headers)


def only_call(sandbox: FlaskClient) -> dict[str, Any]:
    calls = sandbox.get("/sandbox/calls").get_json()
    assert len(calls) == 1
    call = calls[0]
    assert isinstance(call, dict)
    return call


def test_a_valid_connect_is_confirmed_and_recorded(sandbox: FlaskClient) -> None:
    response = put(sandbox, signature=sign(extension_claims()))

    assert response.status_code == 200
    assert response.get_json() == {"code": 0, "message": "The external connection has been marked as connected."}
    assert only_call(sandbox) == {
        "connection": CONNECTION,
        "action": "mark_as_connected",
        "organization_id": ORGANIZATION_ID,
        "valid": True,
        "reason": None,
        "claims": extension_claims(),
        "http_status": 200,
        "code": 0,
        "fault": None,
        "received_at": START_TIME,
    }


def test_a_valid_revoke_is_confirmed(sandbox: FlaskClient) -> None:
    response = put(sandbox, connection=OTHER_CONNECTION, action="mark_as_revoked", signature=sign(extension_claims()))

    assert response.status_code == 200
    assert response.get_json() == {"code": 0, "message": "The external connection has been marked as revoked."}
    assert only_call(sandbox)["action"] == "mark_as_revoked"


def test_an_unknown_connection_is_a_404_even_with_a_good_signature(sandbox: FlaskClient) -> None:
    response = put(sandbox, connection="ec__com_other", signature=sign(extension_claims()))

    assert response.status_code == 404
    assert response.get_json() == {"code": 1002, "message": "External connection does not exist."}
    call = only_call(sandbox)
    assert (call["connection"], call["valid"], call["reason"], call["claims"], call["http_status"], call["code"]) == (
        "ec__com_other",
        False,
        "unknown_connection",
        None,
        404,
        1002,
    )


@pytest.mark.parametrize("action", [None, "", "mark_as_deleted", "MARK_AS_CONNECTED"])
def test_an_action_other_than_the_two_documented_is_a_400(sandbox: FlaskClient, action: str | None) -> None:
    response = put(sandbox, action=action, signature=sign(extension_claims()))

    assert response.status_code == 400
    assert response.get_json() == {"code": 2, "message": "Invalid value passed for action"}
    assert (only_call(sandbox)["reason"], only_call(sandbox)["action"]) == ("invalid_action", action)


@pytest.mark.parametrize("organization_id", [None, ""])
def test_a_missing_organization_id_is_a_400(sandbox: FlaskClient, organization_id: str | None) -> None:
    response = put(sandbox, organization_id=organization_id, signature=sign(extension_claims()))

    assert response.status_code == 400
    assert response.get_json() == {"code": 2, "message": "Invalid value passed for organization_id"}
    assert only_call(sandbox)["reason"] == "missing_organization_id"


@pytest.mark.parametrize("signature", [None, ""])
def test_a_missing_signature_is_a_401(sandbox: FlaskClient, signature: str | None) -> None:
    response = put(sandbox, signature=signature)

    assert response.status_code == 401
    assert response.get_json() == NOT_AUTHORIZED
    assert only_call(sandbox)["reason"] == "missing_signature"


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("not-a-jwt", "malformed_token"),
        ("a.b.c", "malformed_token"),
        (sign(extension_claims()).rsplit(".", 1)[0] + ".", "bad_signature"),
        (sign(extension_claims(), key="another-secret-key-of-32-bytes!!"), "bad_signature"),
        (sign(extension_claims(), algorithm="HS512"), "wrong_algorithm"),
        (sign(extension_claims(), algorithm="HS384"), "wrong_algorithm"),
        (unsigned_token(extension_claims()), "wrong_algorithm"),
    ],
    ids=["garbage", "three-garbage-segments", "signature-stripped", "other-key", "hs512", "hs384", "alg-none"],
)
def test_a_signature_that_is_not_hs256_with_the_secret_key_is_a_401(sandbox: FlaskClient, signature: str, reason: str) -> None:
    response = put(sandbox, signature=signature)

    assert response.status_code == 401
    assert response.get_json() == NOT_AUTHORIZED
    call = only_call(sandbox)
    assert (call["valid"], call["reason"], call["claims"], call["code"]) == (False, reason, None, 57)


def test_a_payload_that_is_not_a_json_object_is_malformed(sandbox: FlaskClient) -> None:
    token = jwt.api_jws.encode(b"[1, 2]", SECRET_KEY, algorithm="HS256")

    assert put(sandbox, signature=token).status_code == 401
    assert only_call(sandbox)["reason"] == "malformed_token"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"user_id": None}, "missing_user_id"),
        ({"user_id": ""}, "invalid_user_id"),
        ({"user_id": 4000000012345}, "invalid_user_id"),
        ({"organization_id": None}, "missing_organization_id"),
        ({"organization_id": 60012345678}, "invalid_organization_id"),
        ({"organization_name": None}, "missing_organization_name"),
        ({"organization_name": ""}, "invalid_organization_name"),
        ({"organization_name": ["Zylker"]}, "invalid_organization_name"),
        ({"jti": None}, "missing_jti"),
        ({"jti": "pu_com_other"}, "wrong_jti"),
        ({"jti": ["pu_com_acme"]}, "wrong_jti"),
        ({"exp": None}, "missing_exp"),
        ({"exp": float(START_MS + HOUR_MS)}, "invalid_exp"),
        ({"exp": True}, "invalid_exp"),
        ({"exp": str(START_MS + HOUR_MS)}, "invalid_exp"),
        ({"exp": START_MS // 1000 + 3600}, "expired"),
        ({"exp": START_MS}, "expired"),
        ({"exp": START_MS - 1}, "expired"),
        ({"exp": START_MS + HOUR_MS + 5_001}, "exp_too_far"),
        ({"exp": (START_MS + HOUR_MS) * 1000}, "exp_too_far"),
        ({"organization_id": "60099999999"}, "organization_mismatch"),
    ],
)
def test_claims_breaking_zohos_rules_are_a_401(sandbox: FlaskClient, overrides: dict[str, Any], reason: str) -> None:
    claims = extension_claims(**overrides)

    response = put(sandbox, signature=sign(claims))

    assert response.status_code == 401
    assert response.get_json() == NOT_AUTHORIZED
    call = only_call(sandbox)
    assert (call["valid"], call["reason"], call["claims"], call["http_status"]) == (False, reason, claims, 401)


@pytest.mark.parametrize("exp", [START_MS + 1, START_MS + HOUR_MS, START_MS + HOUR_MS + 5_000])
def test_exp_within_the_hour_and_leeway_is_accepted(sandbox: FlaskClient, exp: int) -> None:
    assert put(sandbox, signature=sign(extension_claims(exp=exp))).status_code == 200


def test_extra_claims_such_as_iat_in_milliseconds_are_ignored(sandbox: FlaskClient) -> None:
    claims = extension_claims(iat=START_MS, nbf=START_MS + 10_000, aud="anything")

    assert put(sandbox, signature=sign(claims)).status_code == 200


def test_a_signature_expires_when_the_clock_passes_exp(sandbox: FlaskClient, clock: FakeClock) -> None:
    signature = sign(extension_claims())
    assert put(sandbox, signature=signature).status_code == 200

    clock.advance(3600)

    assert put(sandbox, signature=signature).status_code == 401
    assert sandbox.get("/sandbox/calls").get_json()[1]["reason"] == "expired"


def test_checks_run_in_order_and_the_first_failure_decides(sandbox: FlaskClient) -> None:
    put(sandbox, connection="ec__nope", action="bogus", organization_id=None)
    put(sandbox, action="bogus", organization_id=None)
    put(sandbox, organization_id=None)
    put(sandbox)
    put(sandbox, signature=sign(extension_claims(user_id=None, jti="x", exp=1, organization_id="1"), key="k" * 32))
    put(sandbox, signature=sign(extension_claims(user_id=None, jti="x", exp=1, organization_id="1")))
    put(sandbox, signature=sign(extension_claims(jti="x", exp=1, organization_id="1")))
    put(sandbox, signature=sign(extension_claims(exp=1, organization_id="1")))

    reasons = [call["reason"] for call in sandbox.get("/sandbox/calls").get_json()]
    assert reasons == [
        "unknown_connection",
        "invalid_action",
        "missing_organization_id",
        "missing_signature",
        "bad_signature",
        "missing_user_id",
        "wrong_jti",
        "expired",
    ]


def test_other_methods_on_the_api_get_zohos_json_405(sandbox: FlaskClient) -> None:
    response = sandbox.post(f"/api/v3/settings/externalconnections/{CONNECTION}")

    assert response.status_code == 405
    assert response.get_json() == {"code": 37, "message": "The HTTP method POST is not allowed for the requested resource"}
    assert sandbox.get("/sandbox/calls").get_json() == []


def test_unknown_api_urls_get_zohos_json_404(sandbox: FlaskClient) -> None:
    response = sandbox.put("/api/v3/settings/externalconnection/x")

    assert response.status_code == 404
    assert response.get_json() == {"code": 5, "message": "Invalid URL Passed"}


def test_unknown_sandbox_urls_stay_plain_404s(sandbox: FlaskClient) -> None:
    response = sandbox.get("/nope")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
