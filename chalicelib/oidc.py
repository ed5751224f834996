"""Sign-in with the third party's OpenID Connect provider: authorization code flow with PKCE,
``state`` and ``nonce`` (the code exchange with Authlib), and ID-token verification against the
provider's JWKS (PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import jwt
    import requests
    import urllib3

from chalicelib.compare import same_text
from chalicelib.errors import ServiceUnavailable, SignInFailed

logger = logging.getLogger(__name__)

# Asymmetric algorithms only: an ID token must never be accepted on the strength of a shared secret
# the browser could have seen, nor unsigned.
ACCEPTED_ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA")
HTTP_TIMEOUT = (3.05, 5.0)
CLOCK_LEEWAY_SECONDS = 60
SCOPE = "openid email profile"
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Identity:
    subject: str
    label: str  # what the consent page shows: e-mail, else name, else the subject


@dataclass(frozen=True)
class _Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


def s256_code_challenge(code_verifier: str) -> str:
    """PKCE's S256 challenge (RFC 7636 4.2): BASE64URL(SHA256(ASCII(code_verifier))), unpadded."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_request(endpoint: str, *, client_id: str, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
    """The authorization request (RFC 6749 4.1.1) with PKCE S256 (RFC 7636) and OpenID's ``nonce``.

    The parameters are added to the endpoint's own query, which is kept as it came (RFC 6749 3.1);
    a fragment, which an endpoint must not have, is dropped. Written with the standard library
    rather than Authlib's ``prepare_grant_uri``: importing ``authlib.oauth2`` is ~6 ms of the cold
    Connection URL request a Zoho admin waits on, for an ``urlencode``. Held to Authlib's output by
    tests/unit/test_authorization_request.py."""
    scheme, netloc, path, query, _fragment = urlsplit(endpoint)
    params = urlencode(
        [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", SCOPE),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", s256_code_challenge(code_verifier)),
            ("code_challenge_method", "S256"),
        ]
    )
    return urlunsplit((scheme, netloc, path, f"{query}&{params}" if query else params, ""))


class OidcClient:
    def __init__(
        self, *, issuer: str, client_id: str, client_secret: Callable[[], str], session: requests.Session, pool: urllib3.PoolManager | None = None
    ) -> None:
        """``client_secret`` is called when the token endpoint needs it (so the secret is fetched lazily).

        ``session`` carries the code exchange (Authlib's requests integration). ``pool`` fetches the
        discovery document, on the Connection URL request: urllib3, which botocore has already
        loaded, so that request does not import ``requests`` (~25 ms of a cold start). Made on
        first use when not given."""
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = session
        self._pool = pool
        self._lock = threading.Lock()
        self._metadata: _Metadata | None = None
        self._jwks: jwt.PyJWKClient | None = None

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        """The provider's authorization request for this sign-in (see ``authorization_request``)."""
        return authorization_request(
            self._discover().authorization_endpoint, client_id=self._client_id, redirect_uri=redirect_uri, state=state, nonce=nonce, code_verifier=code_verifier
        )

    def sign_in(self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> Identity:
        """Exchange the authorization code and return the verified identity."""
        return self._verify_id_token(self._exchange(code, redirect_uri, code_verifier), nonce)

    def _exchange(self, code: str, redirect_uri: str, code_verifier: str) -> str:
        import requests
        from authlib.integrations.base_client.errors import OAuthError
        from authlib.integrations.requests_client import OAuth2Session

        oauth = OAuth2Session(self._client_id, self._client_secret(), redirect_uri=redirect_uri, code_challenge_method="S256")
        # A new session per exchange, so no one's token outlives it; but on the service's connection
        # pools, so the token endpoint's TLS connection is made once per container, not per sign-in.
        for prefix, adapter in self._session.adapters.items():
            oauth.mount(prefix, adapter)
        try:
            token = oauth.fetch_token(self._discover().token_endpoint, code=code, code_verifier=code_verifier, timeout=HTTP_TIMEOUT)
        except OAuthError as exc:
            logger.warning("oidc_token_rejected", extra={"error": getattr(exc, "error", "")})
            raise SignInFailed(reason="oidc_token_rejected") from exc
        except requests.RequestException as exc:
            logger.error("oidc_unreachable", extra={"error": type(exc).__name__})
            raise ServiceUnavailable() from exc
        except (ValueError, TypeError) as exc:
            # Authlib's parsing of a reply that is not an OAuth token response: a body that is not
            # a JSON object, an expires_in that is not a number. The provider's fault, not the person's.
            logger.error("oidc_token_reply_invalid", extra={"error": type(exc).__name__})
            raise ServiceUnavailable() from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed(reason="oidc_no_id_token")
        return id_token

    def _verify_id_token(self, id_token: str, nonce: str) -> Identity:
        import jwt  # with the first sign-in: PyJWT imports cryptography, ~35 ms no Connection URL needs

        metadata = self._discover()
        try:
            signing_key = self._signing_key(metadata, id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                signing_key.key,
                algorithms=list(metadata.algorithms),
                audience=self._client_id,
                issuer=self._issuer,
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            logger.error("oidc_jwks_unreachable")
            raise ServiceUnavailable() from exc
        except jwt.PyJWTError as exc:
            logger.warning("oidc_id_token_invalid", extra={"error": type(exc).__name__})
            raise SignInFailed(reason="oidc_id_token_invalid") from exc
        except ValueError as exc:  # PyJWKClient reading a JWKS reply that is not JSON (a maintenance page)
            logger.error("oidc_jwks_invalid", extra={"error": type(exc).__name__})
            raise ServiceUnavailable() from exc
        return identity_from_claims(claims, nonce=nonce, client_id=self._client_id)

    def _signing_key(self, metadata: _Metadata, id_token: str) -> jwt.PyJWK:
        """The JWKS key named by the token's ``kid``; OpenID Connect lets a provider with a single
        signing key omit ``kid``, in which case that one key must be it."""
        import jwt

        jwks = self._jwks_client(metadata)
        if jwt.get_unverified_header(id_token).get("kid") is not None:
            return jwks.get_signing_key_from_jwt(id_token)
        keys = jwks.get_signing_keys()
        if len(keys) != 1:
            raise jwt.InvalidTokenError("ID token without kid, and the provider has several signing keys")
        return keys[0]

    def _discover(self) -> _Metadata:
        with self._lock:
            if self._metadata is None:
                self._metadata = self._fetch_metadata()
            return self._metadata

    def _fetch_metadata(self) -> _Metadata:
        import urllib3

        if self._pool is None:
            self._pool = urllib3.PoolManager()
        try:
            response = self._pool.request(
                "GET",
                f"{self._issuer}/.well-known/openid-configuration",
                headers={"Accept": "application/json"},
                timeout=urllib3.Timeout(connect=HTTP_TIMEOUT[0], read=HTTP_TIMEOUT[1]),
                retries=urllib3.Retry(total=MAX_REDIRECTS, connect=0, read=0, status=0, other=0, redirect=MAX_REDIRECTS, raise_on_redirect=True),
            )
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            document = json.loads(response.data)
        except (urllib3.exceptions.HTTPError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            logger.error("oidc_discovery_failed", extra={"error": type(exc).__name__})
            raise ServiceUnavailable() from exc
        if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != self._issuer:
            logger.error("oidc_issuer_mismatch", extra={"configured": self._issuer})
            raise ServiceUnavailable()
        # Required by OpenID Connect Discovery; RS256 when a provider leaves it out.
        offered = document.get("id_token_signing_alg_values_supported", ["RS256"])
        if not isinstance(offered, list) or not all(isinstance(alg, str) for alg in offered):
            offered = []
        algorithms = tuple(alg for alg in ACCEPTED_ALGORITHMS if alg in offered)
        endpoints = [document.get(name) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")]
        if not algorithms or not all(_is_endpoint(url) for url in endpoints):
            logger.error("oidc_discovery_incomplete", extra={"configured": self._issuer})
            raise ServiceUnavailable()
        return _Metadata(str(endpoints[0]), str(endpoints[1]), str(endpoints[2]), algorithms)

    def _jwks_client(self, metadata: _Metadata) -> jwt.PyJWKClient:
        import jwt

        with self._lock:
            if self._jwks is None:
                self._jwks = jwt.PyJWKClient(metadata.jwks_uri, cache_keys=True, lifespan=3600, timeout=5)
            return self._jwks


def _is_endpoint(url: object) -> bool:
    """An absolute http(s) URL with a host and, if any, a valid port: what the sign-in redirect, the
    code exchange and the JWKS fetch can use (a provider's typo is refused here, as a 503, not met
    later as a ValueError)."""
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return bool(parts.hostname)


MAX_SUBJECT_LENGTH = 255  # OpenID Connect Core, section 2: "MUST NOT exceed 255 ASCII characters"
MAX_LABEL_LENGTH = 320  # the longest e-mail address


def identity_from_claims(claims: Mapping[str, Any], *, nonce: str, client_id: str) -> Identity:
    """Who signed in, from an ID token whose signature, issuer, audience and times PyJWT checked.

    Checks the rest: our ``nonce``, ``azp`` when there are several audiences, and a ``sub`` that is
    text we can store and show (and compare: it decides who may rebind an org). The label shown on
    our pages is ``email`` or ``name`` when they are usable text, else the subject.
    """
    claimed_nonce = claims.get("nonce")
    if not isinstance(claimed_nonce, str) or not same_text(claimed_nonce, nonce):
        raise SignInFailed(reason="oidc_nonce_mismatch")
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise SignInFailed(reason="oidc_azp_mismatch")
    subject = claims.get("sub")
    if not _is_text(subject, MAX_SUBJECT_LENGTH):
        raise SignInFailed(reason="oidc_bad_subject")
    assert isinstance(subject, str)
    labels = [value for value in (claims.get("email"), claims.get("name")) if isinstance(value, str) and _is_text(value, MAX_LABEL_LENGTH)]
    label = labels[0] if labels else subject
    return Identity(subject=subject, label=label)


def _is_text(value: object, max_length: int) -> bool:
    """A non-blank string of Unicode text (no unpaired surrogate) of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
