"""A sign-in provider that answers oddly: its faults are ours to absorb as a 503 page, never a 500.

A small provider on loopback whose discovery document, token endpoint and JWKS answer whatever a
test sets; OidcClient talks to it over real HTTP, as it talks to the real provider.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import flask
import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.errors import FlowError
from chalicelib.oidc import Identity, OidcClient
from devstack.servers import BackgroundServer

CLIENT = "zoho-external-connections"
NONCE = "nonce-we-issued"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ABSENT = object()


class Provider:
    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str, str]] = {}
        self.discovery_changes: dict[str, Any] = {}
        app = flask.Flask("misbehaving-provider")
        app.add_url_rule("/.well-known/openid-configuration", "discovery", self._discovery)
        app.add_url_rule("/jwks", "jwks", lambda: self._answer("jwks", json.dumps({"keys": [self._public_jwk()]})))
        app.add_url_rule("/token", "token", lambda: self._answer("token", json.dumps(self.token_reply())), methods=["POST"])
        self.server = BackgroundServer(app)
        self.issuer = self.server.url

    def token_reply(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT, "sub": "ada", "nonce": NONCE, "iat": now, "exp": now + 300}
        id_token = jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})
        return {"access_token": "at", "token_type": "Bearer", "id_token": id_token, **changes}

    def _discovery(self) -> flask.Response:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            **self.discovery_changes,
        }
        document = {name: value for name, value in document.items() if value is not ABSENT}
        return flask.Response(json.dumps(document), content_type="application/json")

    def _answer(self, endpoint: str, default: str) -> flask.Response:
        status, body, content_type = self.answers.get(endpoint, (200, default, "application/json"))
        return flask.Response(body, status=status, content_type=content_type)

    @staticmethod
    def _public_jwk() -> dict[str, Any]:
        return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1", "use": "sig", "alg": "RS256"}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    provider = Provider()
    yield provider
    provider.server.stop()


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
