"""Shared fixtures: the local stack's real parts (moto server, Zoho sandbox, OpenID Connect provider)
on loopback, and the service in-process through ``chalice.test.Client``."""

from __future__ import annotations

import html
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from chalice.test import Client

from chalicelib import bootstrap
from devstack.stack import LocalStack
from devstack.zoho_jwt import mint_zoho_token

ROOT = Path(__file__).resolve().parent.parent
COOKIE = "__Host-zoho_ec_attempt"
CONNECTION = "ec__com_acme"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local stack, once per session: functional tests run the service in-process against
    its AWS, sandbox and provider; browser tests use its ``chalice local``."""
    local = LocalStack(log_path=tmp_path_factory.mktemp("stack") / "service.log").start()
    yield local
    local.stop()


@pytest.fixture
def service(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    for name, value in stack.service_environment().items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    requests.post(f"{stack.sandbox_url}/sandbox/reset", timeout=5).raise_for_status()
    from app import app

    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        yield client
    bootstrap.reset()


@dataclass
class Installation:
    """One Zoho organization installing the extension (unique per test, so tests never collide)."""

    organization_id: str = field(default_factory=lambda: f"600{secrets.randbelow(10**9):09d}")
    organization_name: str = "Zylker Industries"
    user_id: str = "4000000012345"

    def token(self, stack: LocalStack, *, key: str | None = None, now_ms: int | None = None) -> str:
        return mint_zoho_token(
            key or stack.extension_secret_key,
            organization_id=self.organization_id,
            organization_name=self.organization_name,
            user_id=self.user_id,
            now_ms=now_ms if now_ms is not None else int(time.time() * 1000),
        )


@dataclass
class Browser:
    """Drives the service like a browser would: keeps the attempt cookie, signs in at the provider."""

    client: Client
    stack: LocalStack
    cookie: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        response = self.client.http.get(self._path(url), headers={**self._cookie_header(), **(headers or {})})
        self._keep_cookie(response)
        return response

    def post(self, url: str, fields: Mapping[str, str] | list[tuple[str, str]], content_type: str = "application/x-www-form-urlencoded") -> Any:
        body = urlencode(fields)
        response = self.client.http.post(self._path(url), headers={**self._cookie_header(), "Content-Type": content_type}, body=body.encode())
        self._keep_cookie(response)
        return response

    def start(self, kind: str, token: str, connection: str = CONNECTION) -> Any:
        return self.get(f"/connections/{connection}/{kind}?{urlencode({'jwttoken': token})}", headers={"Referer": f"{self.stack.sandbox_url}/"})

    def sign_in(self, authorize_url: str, subject: str = "ada@acme.example") -> Any:
        """Submit the provider's sign-in form as ``subject`` and follow its redirect back to us."""
        reply = requests.post(authorize_url, data={"sub": subject}, allow_redirects=False, timeout=5)
        assert reply.status_code == 302, reply.text
        return self.get(reply.headers["Location"])

    def connect(self, installation: Installation, subject: str = "ada@acme.example") -> Any:
        """Connect URL, sign-in, consent page; returns the consent page response."""
        started = self.start("connect", installation.token(self.stack))
        assert started.status_code == 303, started.body
        back = self.sign_in(started.headers["Location"], subject)
        assert back.status_code == 303, back.body
        return self.get(back.headers["Location"])

    def decide(self, page: Any, decision: str) -> Any:
        return self.post("/flow/decision", {"csrf_token": csrf_of(page), "decision": decision})

    def _path(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={self.cookie}"} if self.cookie else {}

    def _keep_cookie(self, response: Any) -> None:
        header = response.headers.get("Set-Cookie")
        if header:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            self.cookie = jar[COOKIE].value or None


def csrf_of(page: Any) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.body.decode())
    assert match, "the page has no CSRF field"
    return match.group(1)


def text_of(page: Any) -> str:
    """The page's visible text, tags dropped and white space folded (for exact sentence checks)."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page.body.decode(), flags=re.S)
    body = re.sub(r"</?bdi>", "", body)  # inline isolation of names: not a word break
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.fixture
def browser(service: Client, stack: LocalStack) -> Browser:
    return Browser(service, stack)


@pytest.fixture
def installation() -> Installation:
    return Installation()
