"""The sign-in redirect (RFC 6749 4.1.1 with PKCE S256, RFC 7636, and OpenID's ``nonce``), built with
the standard library on the Connection URL's cold request and held to Authlib, which the project
keeps for the code exchange: whatever endpoint and values, the same URL as Authlib's
``prepare_grant_uri`` with its ``create_s256_code_challenge``."""

from __future__ import annotations

import string
from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.oidc import SCOPE, authorization_request, s256_code_challenge

UNRESERVED = string.ascii_letters + string.digits + "-._~"  # RFC 7636 4.1: what a code_verifier is made of


def authlib_request(endpoint: str, *, client_id: str, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
    return str(
        prepare_grant_uri(
            endpoint,
            client_id=client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
    )


def test_the_challenge_of_rfc_7636_appendix_b() -> None:
    assert s256_code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_request_names_every_parameter_once_in_authlibs_order() -> None:
    url = authorization_request(
        "https://idp.example/oauth2/authorize",
        client_id="acme-client",
        redirect_uri="https://svc.example/api/auth/callback",
        state="st",
        nonce="no",
        code_verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    )
    assert url == (
        "https://idp.example/oauth2/authorize?response_type=code&client_id=acme-client"
        "&redirect_uri=https%3A%2F%2Fsvc.example%2Fapi%2Fauth%2Fcallback&scope=openid+email+profile&state=st&nonce=no"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    )


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True),
    path=st.from_regex(r"(/[A-Za-z0-9._~-]{1,12}){0,3}", fullmatch=True),
    client_id=st.text(min_size=1, max_size=40).filter(lambda text: "\x00" not in text),
    redirect_path=st.text(max_size=40),
    state=st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=64),
    nonce=st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=64),
    code_verifier=st.text(alphabet=UNRESERVED, min_size=43, max_size=128),
)
def test_the_same_url_as_authlib(host: str, path: str, client_id: str, redirect_path: str, state: str, nonce: str, code_verifier: str) -> None:
    endpoint = f"https://{host}{path}"
    values = {"client_id": client_id, "redirect_uri": f"https://svc.example/{redirect_path}", "state": state, "nonce": nonce, "code_verifier": code_verifier}
    assert authorization_request(endpoint, **values) == authlib_request(endpoint, **values)


def test_the_endpoints_own_query_is_kept_as_it_came() -> None:
    """RFC 6749 3.1: the endpoint may carry a query, which must be retained (an Azure AD B2C policy,
    a tenant). Kept byte for byte, where Authlib decodes and re-encodes it."""
    url = authorization_request(
        "https://idp.example/authorize?p=B2C_1_signin&tenant=a%2Fb",
        client_id="c",
        redirect_uri="https://svc.example/cb",
        state="s",
        nonce="n",
        code_verifier="v" * 43,
    )
    parts = urlsplit(url)
    assert parts.query.startswith("p=B2C_1_signin&tenant=a%2Fb&response_type=code&client_id=c&")
    assert [name for name, _ in parse_qsl(parts.query)] == [
        "p",
        "tenant",
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ]


def test_a_fragment_on_the_endpoint_is_dropped_not_filled_with_the_parameters() -> None:
    """RFC 6749 3.1: the endpoint must not include a fragment; a provider that publishes one still gets
    its parameters in the query, where it reads them (Authlib would put them in the fragment)."""
    url = authorization_request(
        "https://idp.example/authorize#x", client_id="c", redirect_uri="https://svc.example/cb", state="s", nonce="n", code_verifier="v" * 43
    )
    assert (urlsplit(url).fragment, dict(parse_qsl(urlsplit(url).query))["state"]) == ("", "s")
