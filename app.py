"""Routes of the Zoho External Connections service. Each reads the request and hands it to the flow."""

from __future__ import annotations

import logging

from chalice import Chalice, IAMAuthorizer, Rate, Response
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.chalice_adapter import admin_json, attempt_cookie, form_of, origin_header, query, respond, single_param
from chalicelib.config import ConfigError, Settings
from chalicelib.forms import FORM_CONTENT_TYPE
from chalicelib.models import Kind

app = Chalice(app_name="zoho-external-connections")
logging.getLogger("chalicelib").setLevel(logging.INFO)
# Chalice answers a content type a route does not list with its own JSON 415; accepting any here lets
# parse_form refuse everything but a urlencoded form with an HTML page, like every other error.
FORM = [FORM_CONTENT_TYPE, "*/*"]
# The operator's API: callers sign requests with AWS credentials (SigV4) allowed execute-api:Invoke.
OPERATORS = IAMAuthorizer()


@app.route("/health")
def health() -> Response:
    import os

    try:
        Settings.from_environ(os.environ)
    except ConfigError as exc:
        return Response({"status": "misconfigured", "problem": str(exc)}, status_code=503, headers={"Cache-Control": "no-store"})
    return Response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@app.route("/connections/{connection}/connect")
def connect(connection: str) -> Response:
    """The Connection URL registered in Zoho Sigma."""
    return _start(Kind.CONNECT, connection)


@app.route("/connections/{connection}/revoke")
def revoke(connection: str) -> Response:
    """The Revoke URL registered in Zoho Sigma."""
    return _start(Kind.REVOKE, connection)


def _start(kind: Kind, connection: str) -> Response:
    request = _request()
    return respond(
        request,
        lambda flows, web: flows.start(
            kind, connection, single_param(request, "jwttoken"), referer=request.headers.get("referer"), origin=origin_header(request), web=web
        ),
    )


@app.route("/auth/callback")
def sign_in_callback() -> Response:
    request = _request()
    return respond(request, lambda flows, web: flows.sign_in_callback(attempt_cookie(request), query(request), web=web))


@app.route("/flow")
def flow_page() -> Response:
    request = _request()
    return respond(request, lambda flows, web: flows.show(attempt_cookie(request), web=web))


@app.route("/flow/decision", methods=["POST"], content_types=FORM)
def decision() -> Response:
    request = _request()
    return respond(
        request,
        lambda flows, web: flows.decide(attempt_cookie(request), form_of(request), web=web),
    )


@app.route("/flow/retry", methods=["POST"], content_types=FORM)
def retry() -> Response:
    request = _request()
    return respond(
        request,
        lambda flows, web: flows.retry(attempt_cookie(request), form_of(request), web=web),
    )


@app.schedule(Rate(5, unit=Rate.MINUTES))
def reconcile(event: object) -> dict[str, int]:
    """Confirm with Zoho what is left in the outbox (Zoho failed, or a request died mid-way)."""
    report = bootstrap.reconciler().run()
    return {"due": report.due, "confirmed": report.confirmed, "not_confirmed": report.not_confirmed, "skipped": report.skipped}


@app.route("/admin/connections", authorizer=OPERATORS)
def admin_list() -> Response:
    from chalicelib import admin  # the operator's module loads with the first operator call

    request = _request()
    params = query(request)
    return admin_json(request, lambda flows: admin.list_connections(flows, limit=params.get("limit"), after=params.get("after")))


@app.route("/admin/connections/{organization_id}/{connection}", authorizer=OPERATORS)
def admin_show(organization_id: str, connection: str) -> Response:
    from chalicelib import admin

    return admin_json(_request(), lambda flows: admin.show_connection(flows, organization_id, connection))


@app.route("/admin/connections/{organization_id}/{connection}/retry", methods=["POST"], authorizer=OPERATORS)
def admin_retry(organization_id: str, connection: str) -> Response:
    from chalicelib import admin

    return admin_json(_request(), lambda flows: admin.retry(flows, organization_id, connection))


@app.route("/admin/connections/{organization_id}/{connection}/revoke", methods=["POST"], authorizer=OPERATORS)
def admin_revoke(organization_id: str, connection: str) -> Response:
    from chalicelib import admin

    return admin_json(_request(), lambda flows: admin.force_revoke(flows, organization_id, connection))


def _request() -> Request:
    request = app.current_request
    assert request is not None, "Chalice sets the request before calling a route"
    return request
