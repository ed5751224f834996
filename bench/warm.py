"""Warm requests, in-process: the service's Connection URL GET, consent page GET, consent POST and
revoke POST against in-memory fakes (``MemoryStore``, a fake Secrets Manager client behind the real
``Secrets``, the real ``ZohoClient`` and ``OidcClient`` over a fake HTTP session that answers Zoho's
``{"code": 0}`` and the provider's discovery document, ``RecordingTelemetry``), and a bare Chalice
route returning a constant HTML page. All go through the same path: an API Gateway proxy event into
``app(event, context)``. Each route is also timed as its flow step alone and as the web layer alone
(see ``scenarios``), which is what the warm target compares with the bare route.

Each scenario's per-request time is timed alone (setup such as creating the attempt a POST needs is
outside the clock); rounds interleave the scenarios. Prints one ``BENCH {json}`` line."""

from __future__ import annotations

import io
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from devstack.lambda_events import HOST, STAGE

from bench.events import LambdaContext, event

ROUNDS = int(os.environ.get("BENCH_WARM_ROUNDS", "5"))
PER_ROUND = int(os.environ.get("BENCH_WARM_ITERATIONS", "200"))
WARMUP = 30
CONNECTION = "ec__com_acme"
COOKIE = "__Host-zoho_ec_attempt"
SECRET_KEY = "bench-extension-secret-key-" + "k" * 16
ISSUER = "https://idp.bench.invalid"
REFERER = {"Referer": "https://books.zoho.com/"}
DISCOVERY = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/oauth2/authorize",
    "token_endpoint": f"{ISSUER}/oauth2/token",
    "jwks_uri": f"{ISSUER}/jwks",
    "id_token_signing_alg_values_supported": ["RS256"],
}
ENVIRONMENT = {
    "EXTENSION_API_NAME": "pu_com_acme_bench",
    "EXTENSION_SECRET_ID": "bench/extension-secret-key",
    "OIDC_CLIENT_SECRET_ID": "bench/oidc-client-secret",
    "CONNECTION_API_NAMES": CONNECTION,
    "CONNECTIONS_TABLE": "bench",
    "ZOHO_DEFAULT_DC": "com",
    "PRODUCT_NAME": "Acme",
    "OIDC_ISSUER": ISSUER,
    "OIDC_CLIENT_ID": "bench-client",
    "AWS_LAMBDA_FUNCTION_NAME": "zoho-external-connections-dev",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class FakeSecretsManager:
    """The boto3 Secrets Manager client's ``get_secret_value``, answering from a dict."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls = 0

    def get_secret_value(self, SecretId: str, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"SecretString": self.values[SecretId]}


class FakeHttp:
    """A ``requests.Session`` stand-in (Zoho's PUT answers ``{"code": 0}``) and a ``urllib3.PoolManager``
    one (the provider's discovery answers its document). Nothing leaves the process."""

    def __init__(self) -> None:
        self.puts = 0

    def _reply(self, body: dict[str, Any]) -> Any:
        import requests

        reply = requests.Response()
        reply.status_code = 200
        reply._content = json.dumps(body).encode()
        reply.headers["Content-Type"] = "application/json;charset=UTF-8"
        reply.encoding = "utf-8"
        return reply

    def put(self, url: str, **_: Any) -> Any:
        self.puts += 1
        return self._reply({"code": 0, "message": "success"})

    def request(self, method: str, url: str, **_: Any) -> Any:
        import urllib3

        return urllib3.HTTPResponse(body=json.dumps(DISCOVERY).encode(), status=200, headers={"Content-Type": "application/json"}, preload_content=True)


def wire() -> tuple[Any, FakeSecretsManager, FakeHttp]:
    """The service's own classes, wired like chalicelib/bootstrap.py does, with fakes at the edges."""
    from chalicelib import bootstrap, logs
    from chalicelib.clock import SystemClock
    from chalicelib.config import Settings
    from chalicelib.confirmation import Confirmer
    from chalicelib.events import NoEvents
    from chalicelib.flow import Flows
    from chalicelib.hooks import LoggingHooks
    from chalicelib.oidc import OidcClient
    from chalicelib.secrets import Secrets
    from chalicelib.store.memory import MemoryStore
    from chalicelib.telemetry import RecordingTelemetry
    from chalicelib.zoho_api import ZohoClient

    settings = Settings.from_environ(os.environ)
    clock = SystemClock()
    source = FakeSecretsManager({settings.extension_secret_id: SECRET_KEY, settings.oidc_client_secret_id: "bench-oidc-client-secret"})
    secrets_ = Secrets(
        source,
        clock,
        extension_secret_id=settings.extension_secret_id,
        zoho_signing_secret_id=settings.zoho_signing_secret_id,
        oidc_client_secret_id=settings.oidc_client_secret_id,
    )
    http = FakeHttp()
    store = MemoryStore()
    telemetry = RecordingTelemetry()
    flows = Flows(
        settings=settings,
        store=store,
        secrets=secrets_,
        oidc=OidcClient(issuer=settings.oidc_issuer, client_id=settings.oidc_client_id, client_secret=secrets_.oidc_client_secret, session=http, pool=http),  # type: ignore[arg-type]
        clock=clock,
        telemetry=telemetry,
        confirmer=Confirmer(
            store=store,
            secrets=secrets_,
            zoho=ZohoClient(http, settings.data_centers),  # type: ignore[arg-type]
            clock=clock,
            telemetry=telemetry,
            hooks=LoggingHooks(),
            events=NoEvents(),
            extension_api_name=settings.extension_api_name,
        ),
    )
    # JSON logs are formatted as in Lambda, then dropped (stderr is a sink while the handler is made).
    real_stderr = sys.stderr
    sys.stderr = io.StringIO()
    try:
        logs.configure()
    finally:
        sys.stderr = real_stderr
    for handler in __import__("logging").getLogger("chalicelib").handlers:
        handler.setStream(_Sink())  # type: ignore[attr-defined]
    bootstrap._flows = flows  # what bootstrap.flows() would have built, with fakes at the edges
    return flows, source, http


class _Sink(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def token(organization_id: str) -> str:
    from devstack.zoho_jwt import mint_zoho_token

    return mint_zoho_token(
        SECRET_KEY, organization_id=organization_id, organization_name="Zylker Industries", user_id="4000000012345", now_ms=int(time.time() * 1000)
    )


def deciding_attempt(flows: Any, kind: str, organization_id: str) -> Any:
    from chalicelib.models import Attempt, Kind, Step
    from chalicelib.zoho_token import ZohoClaims

    now = int(time.time())
    attempt = Attempt(
        attempt_id=secrets.token_urlsafe(32),
        kind=Kind(kind),
        connection=CONNECTION,
        claims=ZohoClaims(user_id="4000000012345", organization_id=organization_id, organization_name="Zylker Industries", exp_ms=(now + 3600) * 1000),
        token_hash=secrets.token_hex(32),
        dc="com",
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + 3600,
        step=Step.DECIDING,
        created_at=now,
        flow_id=secrets.token_urlsafe(9),
        step_at=now,
        subject="ada@acme.example" if kind == "connect" else None,
        subject_label="ada@acme.example" if kind == "connect" else None,
        version=1,
    )
    flows.store.create_attempt(attempt)
    return attempt


Prepared = tuple[Callable[[], Any], Callable[[Any], None]]  # the call to time, and a check of what it returned
WEB_BASE = f"https://{HOST}/{STAGE}"  # what the adapter derives from these events (PUBLIC_BASE_URL is unset)


def expect(status: int, also: Callable[[dict[str, Any]], bool] = lambda reply: True) -> Callable[[Any], None]:
    def check(reply: Any) -> None:
        if not isinstance(reply, dict):  # a flow's own answer (a Redirect), checked as the adapter would send it
            reply = {"statusCode": reply.status, "headers": {"Location": reply.location}, "body": ""}
        if reply["statusCode"] != status or not also(reply):
            raise AssertionError(f"HTTP {reply['statusCode']} (expected {status}): {str(reply.get('body'))[:300]}")

    return check


def through(app: Any, lambda_event: dict[str, Any]) -> Callable[[], Any]:
    context = LambdaContext()
    return lambda: app(lambda_event, context)


class Answering:
    """A stand-in for the wired ``Flows`` whose steps answer at once with what the real step answered
    once: a request through the app to it is the web layer alone (Chalice, the routes, the adapter's
    parsing, error boundary and response), timed the way the bare route is."""

    def __init__(self, flows: Any, answer: Any) -> None:
        self.settings = flows.settings
        self.telemetry = flows.telemetry
        self._answer = answer

    def start(self, *_: Any, **__: Any) -> Any:
        return self._answer

    def decide(self, *_: Any, **__: Any) -> Any:
        return self._answer


def web_only(app: Any, lambda_event: dict[str, Any], flows: Any, answer: Any) -> Callable[[], Any]:
    from chalicelib import bootstrap

    context = LambdaContext()
    standin = Answering(flows, answer)

    def call() -> Any:
        bootstrap._flows = standin  # type: ignore[assignment]
        try:
            return app(lambda_event, context)
        finally:
            bootstrap._flows = flows

    return call


def scenarios(service: Any, bare: Any, flows: Any) -> dict[str, Callable[[], Prepared]]:
    """Each scenario prepares one request (untimed): the call to time and a check of its answer.

    Each of the three routes is timed three ways, with the same inputs:

    - through the app (``connection_url_get``, ``consent_post``, ``revoke_post``): the whole request;
    - ``*_flow``: the flow step called directly (``Flows.start`` / ``Flows.decide``: no Chalice, no
      adapter); the whole request minus this is the web layer's share of a real request;
    - ``*_web``: through the app to a stand-in whose step answers at once with what the real one
      answered (``Answering``): the web layer alone, timed like the bare route it compares with."""
    s = Scenarios(service, bare, flows)
    return {
        "bare_route": s.bare_route,
        "connection_url_get": s.connect_get,
        "connection_url_get_flow": s.connect_flow,
        "connection_url_get_web": s.connect_web,
        "consent_page_get": s.consent_page,
        # Each revoke revokes what a consent connected: keep each consent before its revoke.
        "consent_post": lambda: s.decision("connect", "allow"),
        "consent_post_flow": lambda: s.decision("connect", "allow", direct=True),
        "consent_post_web": lambda: s.decision_web("connect", "allow"),
        "revoke_post": lambda: s.decision("revoke", "revoke"),
        "revoke_post_flow": lambda: s.decision("revoke", "revoke", direct=True),
        "revoke_post_web": lambda: s.decision_web("revoke", "revoke"),
    }


class Scenarios:
    def __init__(self, service: Any, bare: Any, flows: Any) -> None:
        from chalicelib.flow import Web

        self.service, self.bare, self.flows = service, bare, flows
        self.web = Web(WEB_BASE)
        self.to_revoke: dict[bool, list[str]] = {False: [], True: []}  # what the consent POSTs connected, per variant
        self.page_attempt = deciding_attempt(flows, "connect", f"500{secrets.randbelow(10**9):09d}")
        self.signs_in = expect(303, lambda reply: reply["headers"]["Location"].startswith(f"{ISSUER}/oauth2/authorize?"))
        self.to_flow_page = expect(303, lambda reply: reply["headers"]["Location"] == f"{WEB_BASE}/flow")
        # What the real steps answer, once (untimed), for the web-layer-alone scenarios to answer with.
        self.started = self._start(token(f"600{secrets.randbelow(10**9):09d}"))
        organization_id = f"800{secrets.randbelow(10**9):09d}"
        self.answers = {"connect": self._decided("connect", "allow", organization_id), "revoke": self._decided("revoke", "revoke", organization_id)}

    def _start(self, jwttoken: str) -> Any:
        from chalicelib.models import Kind

        return self.flows.start(Kind.CONNECT, CONNECTION, jwttoken, referer=REFERER["Referer"], origin=None, web=self.web)

    def _decided(self, kind: str, choice: str, organization_id: str) -> Any:
        attempt = deciding_attempt(self.flows, kind, organization_id)
        return self.flows.decide(attempt.attempt_id, {"csrf_token": attempt.csrf_token, "decision": choice}, web=self.web)

    @staticmethod
    def _connect_event() -> dict[str, Any]:
        query = {"jwttoken": token(f"600{secrets.randbelow(10**9):09d}")}
        path = f"/connections/{CONNECTION}/connect"
        return event("GET", "/connections/{connection}/connect", path, query=query, path_params={"connection": CONNECTION}, headers=REFERER)

    @staticmethod
    def _decision_event(attempt_id: str, fields: dict[str, str]) -> dict[str, Any]:
        return event("POST", "/flow/decision", "/flow/decision", body=urlencode(fields), headers={"Cookie": f"{COOKIE}={attempt_id}"})

    def bare_route(self) -> Prepared:
        return through(self.bare, event("GET", "/bare", "/bare")), expect(200)

    def connect_get(self) -> Prepared:
        return through(self.service, self._connect_event()), self.signs_in

    def connect_flow(self) -> Prepared:
        jwttoken = token(f"600{secrets.randbelow(10**9):09d}")
        return (lambda: self._start(jwttoken)), self.signs_in

    def connect_web(self) -> Prepared:
        return web_only(self.service, self._connect_event(), self.flows, self.started), self.signs_in

    def consent_page(self) -> Prepared:
        headers = {"Cookie": f"{COOKIE}={self.page_attempt.attempt_id}"}
        return through(self.service, event("GET", "/flow", "/flow", headers=headers)), expect(200, lambda reply: 'name="csrf_token"' in reply["body"])

    def decision(self, kind: str, choice: str, direct: bool = False) -> Prepared:
        organization_id = self.to_revoke[direct].pop(0) if kind == "revoke" else f"700{secrets.randbelow(10**9):09d}"
        attempt = deciding_attempt(self.flows, kind, organization_id)
        if kind == "connect":
            self.to_revoke[direct].append(organization_id)
        fields = {"csrf_token": attempt.csrf_token, "decision": choice}
        if direct:
            return (lambda: self.flows.decide(attempt.attempt_id, fields, web=self.web)), self.to_flow_page
        return through(self.service, self._decision_event(attempt.attempt_id, fields)), self.to_flow_page

    def decision_web(self, kind: str, choice: str) -> Prepared:
        fields = {"csrf_token": secrets.token_urlsafe(32), "decision": choice}
        return web_only(self.service, self._decision_event(secrets.token_urlsafe(32), fields), self.flows, self.answers[kind]), self.to_flow_page


def main() -> None:
    os.environ.update(ENVIRONMENT)
    for name in ("PUBLIC_BASE_URL", "ZOHO_DATA_CENTERS", "EVENT_BUS_NAME", "ZOHO_SIGNING_SECRET_ID"):
        os.environ.pop(name, None)
    from app import app as service

    from bench.bare_app import app as bare

    flows, source, http = wire()
    prepared = scenarios(service, bare, flows)
    for prepare in prepared.values():  # warm-up: first renders, first discovery, caches
        for _ in range(WARMUP):
            _run(prepare)
    samples: dict[str, list[float]] = {name: [] for name in prepared}
    round_medians: dict[str, list[float]] = {name: [] for name in prepared}
    puts_before = http.puts
    for _ in range(ROUNDS):
        for name, prepare in prepared.items():
            times = [_run(prepare) for _ in range(PER_ROUND)]
            samples[name].extend(times)
            round_medians[name].append(statistics.median(times))
    if http.puts - puts_before != 4 * ROUNDS * PER_ROUND:
        raise AssertionError(f"{http.puts - puts_before} Zoho PUTs for {4 * ROUNDS * PER_ROUND} decisions")
    result: dict[str, Any] = {
        name: {
            "median_us": statistics.median(values),
            "p90_us": statistics.quantiles(values, n=10)[-1],
            "round_medians_us": round_medians[name],
            "n": len(values),
        }
        for name, values in samples.items()
    }
    result["_meta"] = {"rounds": ROUNDS, "per_round": PER_ROUND, "secret_source_calls": source.calls, "zoho_puts": http.puts}
    print("BENCH " + json.dumps(result), flush=True)


def _run(prepare: Callable[[], Prepared]) -> float:
    call, check = prepare()
    started = time.perf_counter_ns()
    reply = call()
    elapsed = (time.perf_counter_ns() - started) / 1000
    check(reply)
    return elapsed


if __name__ == "__main__":
    main()
