"""The development OpenID Connect provider: ``oidc-provider-mock`` with PKCE enforced.

``oidc-provider-mock`` ignores ``code_challenge`` entirely, so a client that forgot PKCE would pass
every local test and fail against a real provider. The hooks here make the provider insist on
S256 PKCE the way production providers do: no challenge, no code; wrong verifier, no tokens.

Worth knowing about the mock itself:

* The issuer is the URL of the request being served (``request.host_url``), so discovery, the ID
  token's ``iss`` and every endpoint URL follow the ``Host`` the caller used: ``localhost`` and
  ``127.0.0.1`` are two different issuers.
* The sign-in page is a form posted back to the authorization URL with a ``sub`` field (or
  ``action=deny``); an unknown ``sub`` becomes a user whose only claim is ``email``.
* Clients register at ``POST /oauth2/clients`` (RFC 7591); the provider normalises redirect URIs
  (``http://host:port`` becomes ``http://host:port/``) and then compares them verbatim.
* ID tokens are RS256 with ``aud`` as a list and no ``kid`` in the header (the JWKS key has
  one), so a verifier that picks keys by ``kid`` finds none.
* "Deny" redirects with ``error=access_denied`` but without ``state``.
* The mock runs in Flask debug mode behind Werkzeug's (non-evaluating) debugger: an internal
  error shows a traceback page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, Literal
from urllib.parse import parse_qs, urlsplit

import flask
import jinja2
import markupsafe
import requests

with warnings.catch_warnings():
    # oidc-provider-mock 0.3.4 imports parts of authlib that authlib itself deprecates; the
    # warnings say nothing actionable to someone starting the dev stack. authlib.deprecate
    # installs an "always" filter when imported, so it goes first and the "ignore" on top.
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    import oidc_provider_mock

UserSpec = tuple[str, Mapping[str, object]]
ClientAuthMethod = Literal["client_secret_basic", "client_secret_post"]
DEFAULT_CLIENT_AUTH_METHOD: Final[ClientAuthMethod] = "client_secret_basic"

DEFAULT_USERS: Final[tuple[UserSpec, ...]] = (("ada@acme.example", {"email": "ada@acme.example", "name": "Ada Lovelace"}),)

AUTHORIZE_ENDPOINT: Final = "oidc-provider-mock.authorize"
TOKEN_ENDPOINT: Final = "oidc-provider-mock.issue_token"

# RFC 7636 section 4.1 and 4.2: a verifier is 43-128 unreserved characters, and an S256
# challenge is an unpadded base64url SHA-256 digest, so exactly 43 characters.
_VERIFIER_PATTERN: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{43}")


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding, as RFC 7636 defines ``S256``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class PkceChallenges:
    """The S256 challenge behind each authorization code issued and not yet redeemed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_code: dict[str, str] = {}

    def remember(self, code: str, challenge: str) -> None:
        with self._lock:
            self._by_code[code] = challenge

    def take(self, code: str) -> str | None:
        """Remove and return the challenge: each one is checked once, whatever the outcome."""
        with self._lock:
            return self._by_code.pop(code, None)


def create_app(*, users: Sequence[UserSpec] = DEFAULT_USERS) -> flask.Flask:
    """The provider: registration required, nonce required, PKCE S256 required.

    ``users`` are ``(sub, claims)`` pairs offered as one-click sign-ins on the authorization page.
    """
    app = oidc_provider_mock.app(
        require_client_registration=True,
        require_nonce=True,
        user_claims=[oidc_provider_mock.User(sub=sub, claims=dict(claims)) for sub, claims in users],
    )
    _enforce_pkce(app, PkceChallenges())
    # Our own base template first: the package's loads its stylesheet from a CDN.
    app.jinja_loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(Path(__file__).parent / "templates" / "oidc")), app.jinja_loader])
    return app


def _enforce_pkce(app: flask.Flask, challenges: PkceChallenges) -> None:
    @app.before_request
    def check_pkce() -> flask.Response | None:
        request = flask.request
        if request.endpoint == AUTHORIZE_ENDPOINT:
            return _check_authorization_request(request)
        if request.endpoint == TOKEN_ENDPOINT and request.form.get("grant_type") == "authorization_code":
            return _check_token_request(request, challenges)
        return None

    @app.after_request
    def remember_challenge(response: flask.Response) -> flask.Response:
        request = flask.request
        if request.endpoint != AUTHORIZE_ENDPOINT or not response.location:
            return response
        codes = parse_qs(urlsplit(response.location).query).get("code")
        # check_pkce already vetted the challenge for this request; a code only leaves here with it.
        if codes:
            challenges.remember(codes[0], request.values["code_challenge"])
        return response


def _check_authorization_request(request: flask.Request) -> flask.Response | None:
    # The sign-in form posts back to the same URL, so the PKCE parameters stay in the query
    # string on POST too; request.values covers both.
    challenge = request.values.get("code_challenge")
    method = request.values.get("code_challenge_method")
    if not challenge:
        return _authorization_error("The authorization request has no code_challenge: PKCE is required.")
    if method != "S256":
        return _authorization_error(f"The authorization request must use code_challenge_method=S256; got {method or 'none (which means plain)'}.")
    if not _S256_CHALLENGE_PATTERN.fullmatch(challenge):
        return _authorization_error("The code_challenge is not an unpadded base64url SHA-256 digest.")
    return None


def _authorization_error(message: str) -> flask.Response:
    # Never redirect: RFC 6749 only allows error redirects to a verified redirect_uri, and a
    # developer debugging PKCE wants to read the reason on the page.
    escaped = markupsafe.escape(message)
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Invalid authorization request</title></head><body>"
        f"<h1>Invalid authorization request</h1><p>{escaped}</p></body></html>"
    )
    return flask.Response(body, status=400, content_type="text/html; charset=utf-8")


def _check_token_request(request: flask.Request, challenges: PkceChallenges) -> flask.Response | None:
    code = request.form.get("code", "")
    challenge = challenges.take(code) if code else None
    verifier = request.form.get("code_verifier")
    if challenge is None:
        return _invalid_grant("The authorization code is unknown or was already used.")
    if not verifier:
        return _invalid_grant("The token request has no code_verifier: PKCE is required.")
    if not _VERIFIER_PATTERN.fullmatch(verifier):
        return _invalid_grant("The code_verifier must be 43 to 128 unreserved characters (RFC 7636).")
    if not hmac.compare_digest(s256_challenge(verifier), challenge):
        return _invalid_grant("The code_verifier does not match the code_challenge.")
    return None


def _invalid_grant(description: str) -> flask.Response:
    response = flask.jsonify({"error": "invalid_grant", "error_description": description})
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


class RegistrationError(RuntimeError):
    """The provider refused the client, or registered it differently from what was asked."""


def register_client(
    issuer: str,
    redirect_uris: Sequence[str],
    *,
    token_endpoint_auth_method: ClientAuthMethod = DEFAULT_CLIENT_AUTH_METHOD,
    timeout: float = 5.0,
) -> tuple[str, str]:
    """Register a confidential client by dynamic registration and return ``(client_id, client_secret)``.

    ``issuer`` must be spelled the way the client will reach the provider (see the module notes).
    Raises RegistrationError if the provider would not match the redirect URIs exactly as given.
    """
    discovery = requests.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=timeout)
    discovery.raise_for_status()
    endpoint = discovery.json().get("registration_endpoint")
    if not isinstance(endpoint, str):
        raise RegistrationError(f"{issuer} advertises no registration_endpoint")
    response = requests.post(
        endpoint,
        json={
            "redirect_uris": list(redirect_uris),
            "token_endpoint_auth_method": token_endpoint_auth_method,
        },
        timeout=timeout,
    )
    if response.status_code != 201:
        raise RegistrationError(f"registration failed with HTTP {response.status_code}: {response.text.strip()}")
    body = response.json()
    client_id, client_secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise RegistrationError("the registration response has no client_id/client_secret")
    if body.get("redirect_uris") != list(redirect_uris):
        # The provider compares redirect URIs verbatim after normalising them at registration;
        # failing here beats an "invalid redirect_uri" at the first sign-in.
        raise RegistrationError(
            f"the provider registered {body.get('redirect_uris')} instead of {list(redirect_uris)}; "
            "register the URIs in their normalised form (e.g. with a path)"
        )
    return client_id, client_secret
