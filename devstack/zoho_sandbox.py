"""A faithful fake of Zoho for the External Connections protocol (development and tests only).

It plays both parts Zoho plays in ``spec/zoho-external-connections.txt``:

* the extension page in Zoho Books (``GET /``), whose Connect/Revoke buttons open the service's
  Connection or Revoke URL in a popup with a freshly signed Zoho JWT and which listens for the
  service's postMessage;
* ``PUT /api/v3/settings/externalconnections/<name>``, which verifies ``X-Zoho-Signature`` as
  strictly as Zoho documents it (``zoho_jwt``, ``zoho_replies``) and records every call.

Controls for tests live under ``/sandbox/``: mint a token, read the recorded calls and
postMessages, inject faults into the API (``zoho_faults``), reset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlsplit

import flask
from werkzeug.exceptions import HTTPException

from devstack.zoho_faults import Fault, InvalidFaultError, parse_fault
from devstack.zoho_jwt import IDENTITY_CLAIMS, mint_zoho_token
from devstack.zoho_replies import INVALID_URL, judge_put, method_not_allowed

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_API_PREFIX: Final = "/api/"
_METHOD_NOT_ALLOWED: Final = 405


@dataclass(frozen=True)
class SandboxConfig:
    """One extension as Zoho knows it, and the installation the sandbox page starts with."""

    #: The extension's Secret Key: signs the tokens Zoho sends and verifies the ones it receives.
    secret_key: str
    #: The extension settings API name; the ``jti`` every ``X-Zoho-Signature`` must carry.
    extension_api_name: str
    #: External connection API names known to Zoho; PUTs for any other name are 404s.
    connections: tuple[str, ...]
    #: Base URL of the service under test; Connection and Revoke URLs hang off it.
    service_base_url: str
    organization_id: str = "60012345678"
    organization_name: str = "Zylker Industries"
    user_id: str = "4000000012345"
    #: Seconds since the epoch; injectable so tests can move time.
    clock: Callable[[], float] = field(default=time.time)
    #: Where the service expects Zoho's page to be (its data-centre allowlist): the page moves there
    #: when opened under another host name, since the service posts its messages to that origin only.
    public_url: str | None = None

    def __post_init__(self) -> None:
        if not self.secret_key:
            raise ValueError("secret_key must not be empty")
        if not self.extension_api_name:
            raise ValueError("extension_api_name must not be empty")
        if not self.connections or not all(self.connections):
            raise ValueError("connections must be a non-empty tuple of non-empty names")
        parts = urlsplit(self.service_base_url)
        if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"service_base_url must be an absolute http(s) URL: {self.service_base_url!r}")
        # Fails early, with urllib's message, on a malformed port.
        _browser_origin(self.service_base_url)

    @property
    def service_origin(self) -> str:
        """The only origin whose postMessage the extension page accepts."""
        return _browser_origin(self.service_base_url)

    def connection_url(self, connection: str) -> str:
        return self._service_url(connection, "connect")

    def revoke_url(self, connection: str) -> str:
        return self._service_url(connection, "revoke")

    def _service_url(self, connection: str, leaf: str) -> str:
        base = self.service_base_url.rstrip("/")
        return f"{base}/connections/{quote(connection, safe='')}/{leaf}"


def _browser_origin(url: str) -> str:
    """The origin of ``url`` as browsers serialise ``event.origin``: lower case, default port omitted."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _now_ms(config: SandboxConfig) -> int:
    return int(config.clock() * 1000)


class SandboxState:
    """Recorded calls and messages and the active fault, shared by all request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []
        self._messages: list[dict[str, Any]] = []
        self._fault: Fault | None = None
        self._fault_remaining: int | None = None

    def record_call(self, call: dict[str, Any]) -> None:
        with self._lock:
            self._calls.append(call)

    def record_message(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._messages.append(message)

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._calls)

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._messages)

    def set_fault(self, fault: Fault | None) -> None:
        with self._lock:
            self._fault = fault
            self._fault_remaining = fault.times if fault else None

    def fault_status(self) -> dict[str, Any]:
        with self._lock:
            if self._fault is None:
                return {"mode": "ok"}
            return {**asdict(self._fault), "remaining": self._fault_remaining}

    def take_fault(self) -> Fault | None:
        """The fault for the PUT being handled; counting under the lock keeps ``times`` exact
        when PUTs arrive concurrently."""
        with self._lock:
            fault = self._fault
            if fault is not None and self._fault_remaining is not None:
                self._fault_remaining -= 1
                if self._fault_remaining <= 0:
                    self._fault = None
                    self._fault_remaining = None
            return fault

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._messages.clear()
            self._fault = None
            self._fault_remaining = None


def create_app(config: SandboxConfig) -> flask.Flask:
    """The sandbox as a Flask app: the extension page, Zoho's API and the ``/sandbox`` controls.

    The app's SandboxState is also reachable as ``app.extensions["zoho_sandbox"]``.
    """
    app = flask.Flask(__name__)
    state = SandboxState()
    app.extensions["zoho_sandbox"] = state
    _add_page(app, config)
    _add_external_connections_api(app, config, state)
    _add_token_control(app, config)
    _add_fault_controls(app, state)
    _add_record_controls(app, config, state)
    return app


def _json_error(message: str) -> flask.Response:
    response = flask.jsonify({"error": message})
    response.status_code = 400
    return response


def _add_page(app: flask.Flask, config: SandboxConfig) -> None:
    @app.get("/")
    def extensions_page() -> flask.Response:
        if config.public_url and flask.request.host_url.rstrip("/") != config.public_url.rstrip("/"):
            return flask.make_response(flask.redirect(config.public_url.rstrip("/") + "/", code=302))
        page_config = {
            "serviceOrigin": config.service_origin,
            "connections": [
                {
                    "name": name,
                    "connectUrl": config.connection_url(name),
                    "revokeUrl": config.revoke_url(name),
                }
                for name in config.connections
            ],
        }
        html = flask.render_template("zoho_sandbox.html", config=config, page_config=page_config)
        response = flask.make_response(html)
        response.headers["Cache-Control"] = "no-store"
        return response


def _add_external_connections_api(app: flask.Flask, config: SandboxConfig, state: SandboxState) -> None:
    @app.put("/api/v3/settings/externalconnections/<connection>")
    def external_connection(connection: str) -> flask.Response:
        request = flask.request
        action = request.args.get("action")
        organization_id = request.args.get("organization_id")
        verdict = judge_put(
            connection=connection,
            action=action,
            organization_id=organization_id,
            signature=request.headers.get("X-Zoho-Signature"),
            known_connections=config.connections,
            secret_key=config.secret_key,
            extension_api_name=config.extension_api_name,
            now_ms=_now_ms(config),
        )
        fault = state.take_fault()
        planned: tuple[int, int | None] = fault.planned_outcome(verdict.reply) if fault else (verdict.reply.http_status, verdict.reply.code)
        http_status, code = planned
        # Recorded on arrival rather than on reply, so tests also see calls the client gave up on.
        state.record_call(
            {
                "connection": connection,
                "action": action,
                "organization_id": organization_id,
                "valid": verdict.valid,
                "reason": verdict.reason,
                "claims": verdict.claims,
                "http_status": http_status,
                "code": code,
                "fault": fault.mode if fault else None,
                "received_at": config.clock(),
            }
        )
        if fault is None:
            return verdict.reply.response()
        return fault.respond(verdict.reply)

    @app.errorhandler(HTTPException)
    def zoho_style_errors(error: HTTPException) -> flask.Response | HTTPException:
        # Zoho answers unknown API URLs and methods in JSON; the sandbox's own pages keep HTML.
        if not flask.request.path.startswith(_API_PREFIX):
            return error
        if error.code == _METHOD_NOT_ALLOWED:
            return method_not_allowed(flask.request.method).response()
        return INVALID_URL.response()


class InvalidInstallationError(ValueError):
    """The body of ``POST /sandbox/token`` does not describe an installation."""


def parse_installation(body: object, config: SandboxConfig) -> dict[str, str]:
    """The token claims a ``/sandbox/token`` body asks for, defaulting to the config's."""
    if not isinstance(body, dict):
        raise InvalidInstallationError("the body must be a JSON object")
    unknown = set(body) - set(IDENTITY_CLAIMS)
    if unknown:
        raise InvalidInstallationError(f"unknown fields: {', '.join(sorted(unknown))}")
    defaults = {
        "organization_id": config.organization_id,
        "organization_name": config.organization_name,
        "user_id": config.user_id,
    }
    installation = {**defaults, **body}
    for name, value in installation.items():
        if not isinstance(value, str):
            raise InvalidInstallationError(f"{name} must be a string")
    return installation


def _add_token_control(app: flask.Flask, config: SandboxConfig) -> None:
    @app.post("/sandbox/token")
    def token() -> flask.Response:
        request = flask.request
        # An empty body means "the default installation"; anything else must be a JSON object.
        body = request.get_json(silent=True) if request.get_data() else {}
        try:
            installation = parse_installation(body, config)
        except InvalidInstallationError as error:
            return _json_error(str(error))
        jwttoken = mint_zoho_token(config.secret_key, now_ms=_now_ms(config), **installation)
        return flask.jsonify({"jwttoken": jwttoken})


def _add_fault_controls(app: flask.Flask, state: SandboxState) -> None:
    @app.post("/sandbox/faults")
    def set_fault() -> flask.Response:
        try:
            fault = parse_fault(flask.request.get_json(silent=True))
        except InvalidFaultError as error:
            return _json_error(str(error))
        state.set_fault(fault)
        return flask.jsonify(state.fault_status())

    @app.get("/sandbox/faults")
    def get_fault() -> flask.Response:
        return flask.jsonify(state.fault_status())


def _add_record_controls(app: flask.Flask, config: SandboxConfig, state: SandboxState) -> None:
    @app.get("/sandbox/calls")
    def calls() -> flask.Response:
        return flask.jsonify(state.calls())

    @app.get("/sandbox/messages")
    def messages() -> flask.Response:
        return flask.jsonify(state.messages())

    @app.post("/sandbox/messages")
    def record_message() -> flask.Response | tuple[flask.Response, int]:
        body = flask.request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) != {"origin", "data"} or not isinstance(body["origin"], str):
            return _json_error('the body must be {"origin": <string>, "data": <any>}')
        state.record_message({"origin": body["origin"], "data": body["data"], "received_at": config.clock()})
        return flask.jsonify({"ok": True}), 201

    @app.post("/sandbox/reset")
    def reset() -> flask.Response:
        state.reset()
        return flask.jsonify({"ok": True})

    @app.get("/sandbox/health")
    def health() -> flask.Response:
        return flask.jsonify({"ok": True})
