"""The development OIDC provider: a full authorization-code flow over HTTP, with PKCE enforced."""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from devstack_support import pkce_pair

from devstack.oidc_provider import DEFAULT_USERS, RegistrationError, register_client, s256_challenge
from devstack.servers import BackgroundServer

REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"
ADA = "ada@acme.example"


@pytest.fixture(scope="module")
def client(oidc_server: BackgroundServer) -> tuple[str, str]:
    return register_client(oidc_server.url, [REDIRECT_URI])


def authorize_params(client_id: str, challenge: str | None, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def sign_in(issuer: str, params: dict[str, str], sub: str = ADA) -> requests.Response:
    """Post the provider's sign-in form, as a person choosing ``sub`` would."""
    return requests.post(f"{issuer}/oauth2/authorize", params=params, data={"sub": sub}, allow_redirects=False, timeout=5)


def authorization_code(issuer: str, client_id: str, challenge: str) -> str:
    response = sign_in(issuer, authorize_params(client_id, challenge))
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def exchange(issuer: str, client: tuple[str, str], code: str, verifier: str | None) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        form["code_verifier"] = verifier
    return requests.post(f"{issuer}/oauth2/token", data=form, auth=client, timeout=5)


def test_discovery_names_the_request_host_as_issuer(oidc_server: BackgroundServer) -> None:
    config = requests.get(f"{oidc_server.url}/.well-known/openid-configuration", timeout=5).json()

    issuer = oidc_server.url
    assert config["issuer"] == issuer
    assert config["authorization_endpoint"] == f"{issuer}/oauth2/authorize"
    assert config["token_endpoint"] == f"{issuer}/oauth2/token"
    assert config["registration_endpoint"] == f"{issuer}/oauth2/clients"
    assert config["jwks_uri"] == f"{issuer}/jwks"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]

    other_host = f"http://localhost:{oidc_server.port}"
    assert requests.get(f"{other_host}/.well-known/openid-configuration", timeout=5).json()["issuer"] == other_host


def test_the_full_authorization_code_flow_yields_a_verifiable_id_token(oidc_server: BackgroundServer, client: tuple[str, str]) -> None:
    issuer = oidc_server.url
    client_id = client[0]
    verifier, challenge = pkce_pair()
    params = authorize_params(client_id, challenge)

    page = requests.get(f"{issuer}/oauth2/authorize", params=params, timeout=5)
    assert page.status_code == 200
    assert '<input type="text" name="sub"' in page.text
    assert f'name="sub" value="{ADA}"' in page.text

    redirect = sign_in(issuer, params)
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["state-123"]

    tokens = exchange(issuer, client, query["code"][0], verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer"

    jwks = jwt.PyJWKSet.from_dict(requests.get(f"{issuer}/jwks", timeout=5).json())
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256"
    # The mock's ID tokens carry no kid although its JWKS key has one: a relying party that
    # selects keys by kid (PyJWKClient.get_signing_key_from_jwt) must fall back to the only key.
    assert "kid" not in header
    [signing_key] = jwks.keys
    claims = jwt.decode(body["id_token"], signing_key, algorithms=["RS256"], audience=client_id, issuer=issuer)
    assert claims["nonce"] == "nonce-456"
    # The mock always issues aud as a list, which relying parties must accept (OIDC Core 2).
    assert claims["aud"] == [client_id]
    assert claims["iss"] == issuer
    assert (claims["sub"], claims["email"], claims["name"]) == (ADA, ADA, "Ada Lovelace")


def test_default_users_is_ada() -> None:
    assert DEFAULT_USERS == (("ada@acme.example", {"email": "ada@acme.example", "name": "Ada Lovelace"}),)


def test_a_code_is_redeemed_once(oidc_server: BackgroundServer, client: tuple[str, str]) -> None:
    verifier, challenge = pkce_pair()
    code = authorization_code(oidc_server.url, client[0], challenge)
    assert exchange(oidc_server.url, client, code, verifier).status_code == 200

    replay = exchange(oidc_server.url, client, code, verifier)

    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_grant", "error_description": "The authorization code is unknown or was already used."}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code_challenge": None}, "The authorization request has no code_challenge: PKCE is required."),
        ({"code_challenge_method": None}, "The authorization request must use code_challenge_method=S256; got none (which means plain)."),
        ({"code_challenge_method": "plain"}, "The authorization request must use code_challenge_method=S256; got plain."),
        ({"code_challenge": "too-short"}, "The code_challenge is not an unpadded base64url SHA-256 digest."),
        ({"code_challenge": s256_challenge("x" * 43) + "="}, "The code_challenge is not an unpadded base64url SHA-256 digest."),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_authorization_without_s256_pkce_is_a_400_page_not_a_redirect(
    oidc_server: BackgroundServer, client: tuple[str, str], overrides: dict[str, str | None], message: str, method: str
) -> None:
    params = authorize_params(client[0], pkce_pair()[1], **overrides)

    response = requests.request(method, f"{oidc_server.url}/oauth2/authorize", params=params, data={"sub": ADA}, allow_redirects=False, timeout=5)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f"<p>{message}</p>" in response.text


@pytest.mark.parametrize(
    ("verifier", "description"),
    [
        (None, "The token request has no code_verifier: PKCE is required."),
        ("", "The token request has no code_verifier: PKCE is required."),
        (secrets.token_urlsafe(48), "The code_verifier does not match the code_challenge."),
        ("short", "The code_verifier must be 43 to 128 unreserved characters (RFC 7636)."),
        ("a" * 129, "The code_verifier must be 43 to 128 unreserved characters (RFC 7636)."),
    ],
)
def test_a_token_request_without_the_right_verifier_is_invalid_grant(
    oidc_server: BackgroundServer, client: tuple[str, str], verifier: str | None, description: str
) -> None:
    right_verifier, challenge = pkce_pair()
    code = authorization_code(oidc_server.url, client[0], challenge)

    response = exchange(oidc_server.url, client, code, verifier)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": description}
    assert response.headers["Cache-Control"] == "no-store"
    # A failed attempt burns the code: a stolen code cannot be retried until a guess matches.
    assert exchange(oidc_server.url, client, code, right_verifier).json()["error"] == "invalid_grant"


def test_the_verifier_is_checked_against_the_challenge_of_its_own_code(oidc_server: BackgroundServer, client: tuple[str, str]) -> None:
    verifier_a, challenge_a = pkce_pair()
    _, challenge_b = pkce_pair()
    authorization_code(oidc_server.url, client[0], challenge_a)
    code_b = authorization_code(oidc_server.url, client[0], challenge_b)

    assert exchange(oidc_server.url, client, code_b, verifier_a).json()["error"] == "invalid_grant"


def test_an_unregistered_client_is_refused_without_a_redirect(oidc_server: BackgroundServer) -> None:
    params = authorize_params("not-registered", pkce_pair()[1])

    response = requests.get(f"{oidc_server.url}/oauth2/authorize", params=params, allow_redirects=False, timeout=5)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "invalid_client" in response.text


def test_a_registered_client_with_the_wrong_secret_gets_no_tokens(oidc_server: BackgroundServer, client: tuple[str, str]) -> None:
    verifier, challenge = pkce_pair()
    code = authorization_code(oidc_server.url, client[0], challenge)

    response = exchange(oidc_server.url, (client[0], "wrong-secret"), code, verifier)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_an_unregistered_redirect_uri_is_refused(oidc_server: BackgroundServer, client: tuple[str, str]) -> None:
    params = authorize_params(client[0], pkce_pair()[1], redirect_uri="http://127.0.0.1:8000/elsewhere")

    response = requests.get(f"{oidc_server.url}/oauth2/authorize", params=params, allow_redirects=False, timeout=5)

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_the_nonce_is_required(oidc_server: BackgroundServer, client: tuple[str, str]) -> None:
    params = authorize_params(client[0], pkce_pair()[1], nonce=None)

    response = requests.get(f"{oidc_server.url}/oauth2/authorize", params=params, allow_redirects=False, timeout=5)

    assert response.status_code == 302
    error = parse_qs(urlsplit(response.headers["Location"]).query)
    assert (error["error"], error["state"]) == (["invalid_request"], ["state-123"])


def test_denying_redirects_with_access_denied_and_issues_no_code(oidc_server: BackgroundServer, client: tuple[str, str]) -> None:
    params = authorize_params(client[0], pkce_pair()[1])

    response = requests.post(f"{oidc_server.url}/oauth2/authorize", params=params, data={"action": "deny"}, allow_redirects=False, timeout=5)

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert "code" not in query


def test_register_client_returns_working_credentials(oidc_server: BackgroundServer) -> None:
    client_id, client_secret = register_client(oidc_server.url, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])

    assert re.fullmatch(r"[0-9a-f-]{36}", client_id)
    assert len(client_secret) >= 16
    page = requests.get(
        f"{oidc_server.url}/oauth2/authorize", params=authorize_params(client_id, pkce_pair()[1], redirect_uri="http://127.0.0.1:9/b"), timeout=5
    )
    assert page.status_code == 200


def test_register_client_refuses_uris_the_provider_would_rewrite(oidc_server: BackgroundServer) -> None:
    with pytest.raises(RegistrationError, match=re.escape("registered ['http://127.0.0.1:9/'] instead of ['http://127.0.0.1:9']")):
        register_client(oidc_server.url, ["http://127.0.0.1:9"])


def test_register_client_reports_a_refusal(oidc_server: BackgroundServer) -> None:
    with pytest.raises(RegistrationError, match=r"^registration failed with HTTP 400: Invalid body:"):
        register_client(oidc_server.url, ["not a url"])


def test_s256_challenge_matches_rfc_7636_appendix_b() -> None:
    assert s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
