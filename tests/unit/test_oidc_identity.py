"""Who signed in: the checks on an ID token's claims after PyJWT verified its signature and times."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import SignInFailed
from chalicelib.oidc import Identity, identity_from_claims

NONCE = "n0nce-issued-by-us"
CLIENT = "zoho-external-connections"


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": "https://id.acme.example", "aud": CLIENT, "sub": "ada", "nonce": NONCE, "email": "ada@acme.example"}
    return {name: value for name, value in {**base, **changes}.items() if value is not None}


def test_the_subject_and_the_email_make_the_identity() -> None:
    assert identity_from_claims(claims(), nonce=NONCE, client_id=CLIENT) == Identity(subject="ada", label="ada@acme.example")


@pytest.mark.parametrize(
    ("changes", "label"),
    [
        ({"email": None, "name": "Ada Lovelace"}, "Ada Lovelace"),
        ({"email": "  ", "name": "Ada"}, "Ada"),
        ({"email": "x\ud800", "name": None}, "ada"),
        ({"email": "e" * 321, "name": None}, "ada"),
        ({"email": 7, "name": ["Ada"]}, "ada"),
    ],
)
def test_an_unusable_email_or_name_falls_back_to_the_subject(changes: dict[str, Any], label: str) -> None:
    assert identity_from_claims(claims(**changes), nonce=NONCE, client_id=CLIENT).label == label


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"nonce": None}, "oidc_nonce_mismatch"),
        ({"nonce": "another"}, "oidc_nonce_mismatch"),
        ({"nonce": "é-not-ascii"}, "oidc_nonce_mismatch"),
        ({"nonce": "\ud800"}, "oidc_nonce_mismatch"),
        ({"nonce": 5}, "oidc_nonce_mismatch"),
        ({"aud": [CLIENT, "someone-else"]}, "oidc_azp_mismatch"),
        ({"aud": [CLIENT, "someone-else"], "azp": "someone-else"}, "oidc_azp_mismatch"),
        ({"sub": None}, "oidc_bad_subject"),
        ({"sub": " "}, "oidc_bad_subject"),
        ({"sub": 42}, "oidc_bad_subject"),
        ({"sub": "ada\ud800"}, "oidc_bad_subject"),
        ({"sub": "s" * 256}, "oidc_bad_subject"),
    ],
)
def test_claims_that_do_not_identify_someone_for_us_fail_the_sign_in(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(SignInFailed) as caught:
        identity_from_claims(claims(**changes), nonce=NONCE, client_id=CLIENT)
    assert caught.value.reason == reason


def test_several_audiences_are_fine_when_we_are_the_authorized_party() -> None:
    identity = identity_from_claims(claims(aud=[CLIENT, "another"], azp=CLIENT), nonce=NONCE, client_id=CLIENT)
    assert identity.subject == "ada"
