"""What Zoho answers a ``PUT /api/v3/settings/externalconnections/<name>``.

Zoho's documented codes are used where they exist (0 success, 57 not authorised, 1002 does not
exist, 5 invalid URL, 37 method not allowed, 2 invalid value); HTTP statuses follow Zoho's error
documentation. A failed check never says *which* signature rule broke, as Zoho does not; the
reason is recorded for tests instead.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

import flask

from devstack.zoho_jwt import SignatureRejectedError, verify_extension_signature

ACTION_STATUSES: Final = {
    "mark_as_connected": "connected",
    "mark_as_revoked": "revoked",
}


@dataclass(frozen=True)
class ZohoReply:
    http_status: int
    code: int
    message: str

    def response(self) -> flask.Response:
        response = flask.jsonify({"code": self.code, "message": self.message})
        response.status_code = self.http_status
        return response


NOT_AUTHORIZED: Final = ZohoReply(401, 57, "You are not authorized to perform this operation")
UNKNOWN_CONNECTION: Final = ZohoReply(404, 1002, "External connection does not exist.")
INVALID_ACTION: Final = ZohoReply(400, 2, "Invalid value passed for action")
MISSING_ORGANIZATION: Final = ZohoReply(400, 2, "Invalid value passed for organization_id")
INVALID_URL: Final = ZohoReply(404, 5, "Invalid URL Passed")


def method_not_allowed(method: str) -> ZohoReply:
    return ZohoReply(405, 37, f"The HTTP method {method} is not allowed for the requested resource")


def marked_as(action: str) -> ZohoReply:
    status = ACTION_STATUSES[action]
    return ZohoReply(200, 0, f"The external connection has been marked as {status}.")


@dataclass(frozen=True)
class Verdict:
    """Zoho's decision on one PUT, before any injected fault."""

    reply: ZohoReply
    reason: str | None = None
    claims: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        return self.reason is None


def judge_put(
    *,
    connection: str,
    action: str | None,
    organization_id: str | None,
    signature: str | None,
    known_connections: Collection[str],
    secret_key: str,
    extension_api_name: str,
    now_ms: int,
) -> Verdict:
    """Apply Zoho's checks in order; the first failure decides the reply."""
    if connection not in known_connections:
        return Verdict(UNKNOWN_CONNECTION, "unknown_connection")
    if action not in ACTION_STATUSES:
        return Verdict(INVALID_ACTION, "invalid_action")
    if not organization_id:
        return Verdict(MISSING_ORGANIZATION, "missing_organization_id")
    if not signature:
        return Verdict(NOT_AUTHORIZED, "missing_signature")
    try:
        claims = verify_extension_signature(
            signature,
            secret_key=secret_key,
            extension_api_name=extension_api_name,
            organization_id=organization_id,
            now_ms=now_ms,
        )
    except SignatureRejectedError as rejection:
        return Verdict(NOT_AUTHORIZED, rejection.reason, rejection.claims)
    return Verdict(marked_as(action), None, claims)
