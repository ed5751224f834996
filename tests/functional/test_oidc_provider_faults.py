"""A sign-in provider that answers oddly: its faults are ours to absorb as a 503 page, never a 500.

A small provider on loopback whose discovery document, token endpoint and JWKS answer whatever a
test sets; OidcClient talks to it over real HTTP/1.1, as it talks to the real provider.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.errors import FlowError
from chalicelib.oidc import Identity, OidcClient

CLIENT = "zoho-external-connections"
NONCE = "nonce-we-issued"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ABSENT = object()


class Provider:
    """The provider's three endpoints on a stdlib HTTP/1.1 server that keeps connections open, as real
    servers do (Werkzeug's development server closes every connection, so it cannot show reuse)."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str, str]] = {}
        self.discovery_changes: dict[str, Any] = {}
        self.connections: list[tuple[str, int]] = []  # (endpoint, the client's port) per request
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                endpoint = {"/.well-known/openid-configuration": "discovery", "/jwks": "jwks"}.get(self.path, "unknown")
                self._reply(endpoint, *provider.answer(endpoint))

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._reply("token", *provider.answer("token"))

            def _reply(self, endpoint: str, status: int, body: str, content_type: str) -> None:
                provider.connections.append((endpoint, self.client_address[1]))
                data = body.encode("utf-8", "surrogateescape")  # an escaped surrogate stands for a byte that is not UTF-8
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, endpoint: str) -> tuple[int, str, str]:
        if endpoint in self.answers:
            return self.answers[endpoint]
        defaults = {"discovery": self._discovery, "jwks": lambda: {"keys": [self._public_jwk()]}, "token": self.token_reply}
        if endpoint not in defaults:
            return (404, "", "text/plain")
        return (200, json.dumps(defaults[endpoint]()), "application/json")

    def token_reply(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT, "sub": "ada", "nonce": NONCE, "iat": now, "exp": now + 300}
        id_token = jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})
        return {"access_token": "at", "token_type": "Bearer", "id_token": id_token, **changes}

    def _discovery(self) -> dict[str, Any]:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            **self.discovery_changes,
        }
        return {name: value for name, value in document.items() if value is not ABSENT}

    @staticmethod
    def _public_jwk() -> dict[str, Any]:
        return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1", "use": "sig", "alg": "RS256"}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    provider = Provider()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def sign_in(provider: Provider) -> Identity:
    client = OidcClient(issuer=provider.issuer, client_id=CLIENT, client_secret=lambda: "client-secret", session=requests.Session())
    return client.sign_in(code="code", redirect_uri="https://service.example/auth/callback", code_verifier="v" * 43, nonce=NONCE)


def test_a_well_behaved_provider_signs_ada_in(provider: Provider) -> None:
    provider.answers.clear()
    provider.discovery_changes.clear()
    assert sign_in(provider) == Identity(subject="ada", label="ada")


@pytest.mark.parametrize(
    ("endpoint", "answer"),
    [
        pytest.param("token", (200, "[]", "application/json"), id="token reply a JSON array"),
        pytest.param("token", (200, "null", "application/json"), id="token reply null"),
        pytest.param("token", (200, '"a string"', "application/json"), id="token reply a string"),
        pytest.param("token", (200, "<html>maintenance</html>", "text/html"), id="token reply HTML"),
        pytest.param("token", (200, "", "application/json"), id="token reply empty"),
        pytest.param("token", (200, "EXPIRES_IN_ABC", "application/json"), id="expires_in not a number"),
        pytest.param("token", (200, "EXPIRES_IN_LIST", "application/json"), id="expires_in a list"),
        pytest.param("token", (502, "<html>bad gateway</html>", "text/html"), id="token endpoint 502"),
        pytest.param("jwks", (200, "<html>maintenance</html>", "text/html"), id="JWKS reply HTML"),
        pytest.param("jwks", (503, "", "text/plain"), id="JWKS endpoint 503"),
        pytest.param("discovery", (500, "<html>oops</html>", "text/html"), id="discovery 500"),
        pytest.param("discovery", (200, "<html>maintenance</html>", "text/html"), id="discovery reply HTML"),
        pytest.param("discovery", (200, "[]", "application/json"), id="discovery reply a JSON array"),
        pytest.param("discovery", (200, "\udcff", "application/json"), id="discovery reply not UTF-8"),
        pytest.param("discovery", (404, "{}", "application/json"), id="discovery 404"),
    ],
)
def test_a_provider_answering_nonsense_is_a_503_not_a_500(provider: Provider, endpoint: str, answer: tuple[int, str, str]) -> None:
    provider.discovery_changes.clear()
    status, body, content_type = answer
    if body.startswith("EXPIRES_IN_"):
        body = json.dumps(provider.token_reply(expires_in="abc" if body.endswith("ABC") else [1]))
    provider.answers.clear()
    provider.answers[endpoint] = (status, body, content_type)
    with pytest.raises(FlowError) as caught:
        sign_in(provider)
    assert (caught.value.status, caught.value.reason) == (503, "service_unavailable")


@pytest.mark.parametrize("algorithms", [5, "RS256", {"RS256": True}, [["RS256"]], [], None, ABSENT])
def test_a_discovery_document_with_odd_algorithms_is_a_503(provider: Provider, algorithms: object) -> None:
    provider.answers.clear()
    provider.discovery_changes.clear()
    provider.discovery_changes["id_token_signing_alg_values_supported"] = algorithms
    if algorithms is ABSENT:  # RS256, the default OpenID Connect Discovery gives it
        assert sign_in(provider).subject == "ada"
        return
    with pytest.raises(FlowError) as caught:
        sign_in(provider)
    assert (caught.value.status, caught.value.reason) == (503, "service_unavailable")


def test_sign_ins_reuse_one_connection_to_the_provider(provider: Provider) -> None:
    """Authlib makes a new session per code exchange (so no one's token outlives it); the service's
    connection pools are mounted on it, so the token endpoint's TLS connection is made once per
    container, not once per sign-in. Discovery, once per container, goes over urllib3 (the
    Connection URL request does not load requests): one connection of its own."""
    provider.answers.clear()
    provider.discovery_changes.clear()
    provider.connections.clear()
    client = OidcClient(issuer=provider.issuer, client_id=CLIENT, client_secret=lambda: "client-secret", session=requests.Session())
    for _ in range(3):
        client.sign_in(code="code", redirect_uri="https://service.example/auth/callback", code_verifier="v" * 43, nonce=NONCE)
    assert [endpoint for endpoint, _ in provider.connections if endpoint != "jwks"] == ["discovery", "token", "token", "token"]  # PyJWKClient: urllib
    assert len({port for endpoint, port in provider.connections if endpoint == "token"}) == 1


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("authorization_endpoint", "https://[idp.example/authorize"),
        ("authorization_endpoint", "https://idp.example:99999/authorize"),
        ("token_endpoint", "https://[idp.example/token"),
        ("jwks_uri", "http://idp.example:port/jwks"),
    ],
)
def test_a_discovery_document_with_an_unparsable_endpoint_is_a_503(provider: Provider, name: str, url: str) -> None:
    """Found when the sign-in redirect was built from the endpoint with urlsplit: an endpoint that does
    not parse as a URL is the provider's fault, refused with the rest of its document."""
    provider.answers.clear()
    provider.discovery_changes.clear()
    provider.discovery_changes[name] = url
    client = OidcClient(issuer=provider.issuer, client_id=CLIENT, client_secret=lambda: "client-secret", session=requests.Session())
    with pytest.raises(FlowError) as caught:
        client.authorization_url(redirect_uri="https://service.example/auth/callback", state="s", nonce=NONCE, code_verifier="v" * 43)
    assert (caught.value.status, caught.value.reason) == (503, "service_unavailable")
