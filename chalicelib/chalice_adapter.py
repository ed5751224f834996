"""The Chalice side of the flows: request in, response out, errors to pages. Two pure conversions
(``web_for`` / ``to_response``) and one error boundary (``respond``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from chalice.app import Request, Response

from chalicelib import bootstrap, logs
from chalicelib.config import ConfigError, Settings
from chalicelib.datacenters import origin_of
from chalicelib.errors import FlowError, InvalidZohoToken
from chalicelib.flow import Flows, Web
from chalicelib.forms import parse_form
from chalicelib.pages import Page, Redirect, new_nonce, render, security_headers
from chalicelib.secrets import SecretFormatError
from chalicelib.telemetry import FLOW_REFUSALS

logger = logging.getLogger(__name__)

COOKIE_NAME = "__Host-zoho_ec_attempt"
HTML = "text/html; charset=utf-8"


def respond(request: Request, action: Callable[[Flows, Web], Page | Redirect]) -> Response:
    """Run one flow step; every failure becomes an HTML page with the right status, never a trace."""
    product_name = "this service"
    logs.start_request((request.context or {}).get("requestId"))
    try:
        flows = bootstrap.flows()
        product_name = flows.settings.product_name
        return to_response(action(flows, web_for(request, flows.settings)), product_name)
    except FlowError as exc:
        logger.info("flow_refused", extra={"reason": exc.reason, "status": exc.status})
        if flows_ready := bootstrap.ready():
            flows_ready.telemetry.count(FLOW_REFUSALS, reason=exc.reason)
        return error_page(exc, product_name)
    except (ConfigError, SecretFormatError) as exc:
        logger.error("misconfigured", extra={"problem": str(exc)})
        return error_page(
            FlowError("This service is not configured correctly. Its operators have been notified.", reason="misconfigured"), product_name, status=503
        )
    except Exception:
        # The page boundary: a bug must still answer a page, not a stack trace or JSON.
        logger.exception("unexpected_error")
        return error_page(FlowError("Something went wrong on our side. Please try again.", reason="internal_error"), product_name, status=500)


def admin_json(request: Request, action: Callable[[Flows], dict[str, Any]]) -> Response:
    """The operator API's error boundary: JSON in, JSON out (it is never shown in the Zoho popup).

    API Gateway's IAM authorizer only lets signed callers through and names them in the request
    context. ``chalice local`` enforces no authorizer, so a call without a named caller is refused
    unless ``ADMIN_API_ALLOW_UNSIGNED=true`` (honoured only outside Lambda: tests, a deliberate local session).
    """
    headers: dict[str, str | list[str]] = {"Cache-Control": "no-store", "Content-Type": "application/json"}
    logs.start_request((request.context or {}).get("requestId"))
    caller = ((request.context or {}).get("identity") or {}).get("userArn")
    if not caller and not _unsigned_admin_allowed():
        logger.warning("admin_unsigned_refused")
        return Response(body={"error": "unauthorized", "message": "Sign the request with AWS credentials (SigV4)."}, status_code=403, headers=headers)
    logger.info("admin_call", extra={"caller": caller or "unsigned-local", "path": request.path})
    try:
        return Response(body=action(bootstrap.flows()), status_code=200, headers=headers)
    except FlowError as exc:
        return Response(body={"error": exc.reason, "message": exc.message}, status_code=exc.status, headers=headers)
    except (ConfigError, SecretFormatError) as exc:
        logger.error("misconfigured", extra={"problem": str(exc)})
        return Response(body={"error": "misconfigured", "message": str(exc)}, status_code=503, headers=headers)


def _unsigned_admin_allowed() -> bool:
    import os

    return "AWS_LAMBDA_FUNCTION_NAME" not in os.environ and os.environ.get("ADMIN_API_ALLOW_UNSIGNED", "").lower() == "true"


def web_for(request: Request, settings: Settings) -> Web:
    """The base URL the browser used: ``PUBLIC_BASE_URL`` when set, else the request's own scheme,
    host and stage prefix (``/api`` on an execute-api URL, a base path behind a custom domain)."""
    if settings.public_base_url:
        return Web(settings.public_base_url)
    headers = request.headers
    context = request.context or {}
    host = headers.get("host", "localhost")
    scheme = headers.get("x-forwarded-proto", "https" if context.get("stage") else "http").split(",")[0].strip()
    full_path = str(context.get("path") or "")
    route_path = _filled_route(request)
    prefix = full_path[: -len(route_path)] if route_path and full_path.endswith(route_path) else ""
    return Web(f"{scheme}://{host}{prefix.rstrip('/')}")


def _filled_route(request: Request) -> str:
    path = str((request.context or {}).get("resourcePath") or "")
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    return path


def single_param(request: Request, name: str) -> str | None:
    """A query parameter given at most once (a repeated ``jwttoken`` is refused, not guessed at)."""
    params = request.query_params
    if params is None:
        return None
    values = params.getlist(name) if name in params else []  # Chalice's getlist raises on a missing name
    if len(values) > 1:
        raise InvalidZohoToken("The link carries more than one token. Open this page from Zoho's button.", reason="repeated_token")
    return values[0] if values else None


def query(request: Request) -> dict[str, str]:
    """Query parameters given exactly once; repeated ones are dropped (and so fail their check)."""
    params = request.query_params
    if params is None:
        return {}
    return {name: params.getlist(name)[0] for name in params if len(params.getlist(name)) == 1}


def form_of(request: Request) -> dict[str, str]:
    body = request.raw_body
    return parse_form(body.encode() if isinstance(body, str) else body, request.headers.get("content-type"))


def attempt_cookie(request: Request) -> str | None:
    """Our attempt cookie's value from the ``Cookie`` header, whatever other cookies it carries.

    Split as RFC 6265 (section 5.4) tells browsers to write it: ``name=value`` pairs separated by
    ``;``. Not ``http.cookies.SimpleCookie``: it drops every cookie once it meets one it cannot
    parse (``a=b c``, ``prefs={"a":1}``, a bare ``flag``), and browsers send such cookies, set by
    other scripts on a parent domain, before ours. A ``__Host-`` cookie can only be set by this
    host, so the first one with our name is ours; its value is checked for shape by the flow.
    """
    for pair in request.headers.get("cookie", "").split(";"):
        name, equals, value = pair.partition("=")
        if equals and name.strip() == COOKIE_NAME:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value or None
    return None


def to_response(result: Page | Redirect, product_name: str) -> Response:
    if isinstance(result, Redirect):
        headers: dict[str, str | list[str]] = {**security_headers(None), "Location": result.location, "Content-Type": HTML}
        status = result.status
        body = ""
    else:
        nonce = new_nonce()
        headers = {**security_headers(nonce), "Content-Type": HTML}
        status = result.status
        body = render(result, nonce=nonce, product_name=product_name)
    if result.cookie is not None:
        headers["Set-Cookie"] = _cookie_header(result.cookie.value, result.cookie.max_age)
    return Response(body=body, status_code=status, headers=headers)


def error_page(exc: FlowError, product_name: str, *, status: int | None = None) -> Response:
    page = Page("error.html", {"error": exc}, status=status or exc.status)
    return to_response(page, product_name)


def _cookie_header(value: str | None, max_age: int) -> str:
    # __Host- prefix: Secure, Path=/, no Domain, so no other host or path can plant or read it.
    if value is None:
        return f"{COOKIE_NAME}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
    return f"{COOKIE_NAME}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax"


def origin_header(request: Request) -> str | None:
    value = request.headers.get("origin")
    return value if value and origin_of(value) is not None else None  # origin_of: None for anything unparsable
