"""Drive the service's connect and revoke flows the way a browser and API Gateway would: Lambda proxy
events into the Chalice app, the attempt cookie kept between requests, sign-in at the development
OpenID Connect provider. Used by ``calls.py`` (AWS calls per step) and ``memory.py`` (peak memory)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from bench.events import LambdaContext, event

COOKIE = "__Host-zoho_ec_attempt"
CONNECTION = "ec__com_acme"

Step = Callable[[str, float], None]  # (step name, seconds) after each request


@dataclass
class Driver:
    app: Any
    host: str
    referer: str
    on_step: Step | None = None
    before_step: Callable[[str], None] | None = None
    cookie: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def call(self, step: str, method: str, route: str, path: str, *, query: dict[str, str] | None = None, body: str | None = None, **params: str) -> Any:
        headers = {"Referer": self.referer}
        if self.cookie:
            headers["Cookie"] = f"{COOKIE}={self.cookie}"
        lambda_event = event(method, route, path, query=query, body=body, headers=headers, path_params=params or None, host=self.host)
        if self.before_step is not None:
            self.before_step(step)
        started = time.perf_counter()
        reply = self.app(lambda_event, LambdaContext())
        elapsed = time.perf_counter() - started
        self.timings[step] = elapsed
        if self.on_step is not None:
            self.on_step(step, elapsed)
        cookie = (reply.get("headers") or {}).get("Set-Cookie") or ""
        if cookie.startswith(f"{COOKIE}="):
            self.cookie = cookie.split(";", 1)[0].split("=", 1)[1] or None
        return reply

    def start(self, step: str, kind: str, token: str) -> Any:
        return self.call(
            step, "GET", f"/connections/{{connection}}/{kind}", f"/connections/{CONNECTION}/{kind}", query={"jwttoken": token}, connection=CONNECTION
        )

    def get(self, step: str, path: str, query: dict[str, str] | None = None) -> Any:
        return self.call(step, "GET", path, path, query=query)

    def post(self, step: str, path: str, fields: dict[str, str]) -> Any:
        return self.call(step, "POST", path, path, body=urlencode(fields))


def csrf_of(reply: Any) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', reply["body"])
    assert match, f"no CSRF field in a {reply['statusCode']} page"
    return match.group(1)


def expect(reply: Any, status: int, what: str) -> Any:
    if reply["statusCode"] != status:
        raise AssertionError(f"{what}: HTTP {reply['statusCode']} (expected {status}): {str(reply.get('body'))[:400]}")
    return reply


def connect(driver: Driver, token: str, sign_in: Callable[[str], str], prefix: str = "connect") -> None:
    """Connection URL -> sign-in -> callback -> consent page -> allow -> result page."""
    started = expect(driver.start(f"{prefix}.start", "connect", token), 303, "connect start")
    back = urlsplit(sign_in(started["headers"]["Location"]))
    expect(driver.get(f"{prefix}.callback", "/auth/callback", dict(parse_qsl(back.query))), 303, "sign-in callback")
    consent = expect(driver.get(f"{prefix}.show_consent", "/flow"), 200, "consent page")
    expect(driver.post(f"{prefix}.decide", "/flow/decision", {"csrf_token": csrf_of(consent), "decision": "allow"}), 303, "allow")
    result = expect(driver.get(f"{prefix}.show_result", "/flow"), 200, "connect result page")
    assert '"connection_status": "connected"' in result["body"], "the result page does not post 'connected'"


def revoke(driver: Driver, token: str, prefix: str = "revoke") -> None:
    """Revoke URL -> confirmation page -> revoke -> result page."""
    driver.cookie = None
    expect(driver.start(f"{prefix}.start", "revoke", token), 303, "revoke start")
    confirm = expect(driver.get(f"{prefix}.show_confirmation", "/flow"), 200, "revoke confirmation page")
    expect(driver.post(f"{prefix}.decide", "/flow/decision", {"csrf_token": csrf_of(confirm), "decision": "revoke"}), 303, "revoke")
    result = expect(driver.get(f"{prefix}.show_result", "/flow"), 200, "revoke result page")
    assert '"connection_status": "revoked"' in result["body"], "the result page does not post 'revoked'"


def oidc_sign_in(subject: str = "ada@acme.example") -> Callable[[str], str]:
    """Submit the development provider's sign-in form; return where it sends the browser back."""
    import requests

    def sign_in(authorize_url: str) -> str:
        reply = requests.post(authorize_url, data={"sub": subject}, allow_redirects=False, timeout=10)
        if reply.status_code != 302:
            raise AssertionError(f"sign-in at the provider: HTTP {reply.status_code}: {reply.text[:300]}")
        return str(reply.headers["Location"])

    return sign_in


def from_environment(app: Any) -> tuple[Driver, Callable[[str], str], Callable[[], str]]:
    """A driver for the stack the bench started (``BENCH_*`` variables), the provider's sign-in,
    and a source of fresh Zoho tokens, each for a new organization."""
    import os
    import secrets

    from devstack.zoho_jwt import mint_zoho_token

    sandbox = os.environ["BENCH_SANDBOX_URL"]
    key = os.environ["BENCH_SECRET_KEY"]

    def new_token(organization_id: str | None = None) -> str:
        return mint_zoho_token(
            key,
            organization_id=organization_id or f"700{secrets.randbelow(10**9):09d}",
            organization_name="Zylker Industries",
            user_id="4000000012345",
            now_ms=int(time.time() * 1000),
        )

    return Driver(app, host=urlsplit(os.environ["PUBLIC_BASE_URL"]).netloc, referer=f"{sandbox}/"), oidc_sign_in(), new_token  # type: ignore[return-value]
