"""The operator's surface: list and show connections with their audit trail, retry a pending or given-up
confirmation, force a revoke. Used by the IAM-authorized admin routes and by tools/admin_cli.py."""

from __future__ import annotations

import dataclasses
import enum
import re
import secrets
from typing import Any

from chalicelib.errors import FlowError
from chalicelib.flow import Flows
from chalicelib.models import ConnectionRecord, Decision, Status
from chalicelib.zoho_token import ZohoClaims, claim_fits

MAX_PAGE = 100


class NotFound(FlowError):
    status = 404
    reason = "connection_not_found"
    message = "No connection is recorded for that organization and connection name."


class BadAdminRequest(FlowError):
    status = 400
    reason = "bad_admin_request"


def as_json(record: ConnectionRecord) -> dict[str, Any]:
    """The record for operators: every field, enums as their values; there is nothing secret in it."""
    return {key: value.value if isinstance(value, enum.Enum) else value for key, value in dataclasses.asdict(record).items()}


def list_connections(flows: Flows, *, limit: str | None = None, after: str | None = None) -> dict[str, Any]:
    # ASCII digits only: int() also takes "+5", " 5 ", "5_0" and other scripts' digits.
    if limit is not None and not re.fullmatch(r"[0-9]{1,4}", limit):
        raise BadAdminRequest("limit must be a whole number")
    size = int(limit) if limit is not None else 50
    if not 1 <= size <= MAX_PAGE:
        raise BadAdminRequest(f"limit must be between 1 and {MAX_PAGE}")
    try:
        records, cursor = flows.store.list_connections(size, after)
    except ValueError:
        raise BadAdminRequest("after is not a cursor this API returned") from None
    return {"connections": [as_json(record) for record in records], "next": cursor}


def show_connection(flows: Flows, organization_id: str, connection: str) -> dict[str, Any]:
    record = _record(flows, organization_id, connection)
    audit = flows.store.list_audit(organization_id, connection)
    return {"connection": as_json(record), "audit": [dataclasses.asdict(event) for event in audit]}


def retry(flows: Flows, organization_id: str, connection: str) -> dict[str, Any]:
    """Confirm a pending (or given-up) decision with Zoho now, whatever its backoff says."""
    record = _record(flows, organization_id, connection)
    if record.status not in (Status.PENDING, Status.FAILED) or record.desired is None:
        raise BadAdminRequest(f"nothing to retry: the connection is {record.status.value}")
    result = flows.confirmer.reopen(record, owner=_owner())
    if result is None:
        raise BadAdminRequest("another request holds this connection right now; try again in a minute")
    return {"confirmed": result.confirmed, "reason": result.reason, "connection": as_json(result.record)}


def force_revoke(flows: Flows, organization_id: str, connection: str) -> dict[str, Any]:
    """Revoke on our side and tell Zoho, without a Zoho token (for an operator with AWS credentials)."""
    record = _record(flows, organization_id, connection)
    claims = ZohoClaims(user_id=record.zoho_user_id, organization_id=record.organization_id, organization_name=record.organization_name, exp_ms=0)
    decision = Decision(claims=claims, connection=connection, dc=record.dc, target=Status.REVOKED, owner=_owner())
    result = flows.confirmer.decide(decision)
    return {"confirmed": result.confirmed, "reason": result.reason, "connection": as_json(result.record)}


def _record(flows: Flows, organization_id: str, connection: str) -> ConnectionRecord:
    # No record can have a longer id than a verified claim; a longer one must not become a key.
    if not claim_fits(organization_id) or connection not in flows.settings.connection_api_names:
        raise NotFound()
    record = flows.store.get_connection(organization_id, connection)
    if record is None:
        raise NotFound()
    return record


def _owner() -> str:
    return f"admin:{secrets.token_urlsafe(6)}"
