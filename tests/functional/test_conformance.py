"""Hostile input, one row per case: the exact status and reason of the page, security headers on it,
nothing stored and nothing sent to Zoho. Runs through chalice.test.Client against the real stack."""

from __future__ import annotations

import base64
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt
import pytest
import requests

from chalicelib.store.dynamodb import DynamoStore
from devstack.stack import LocalStack
from tests.conftest import CONNECTION, COOKIE, Browser, Installation, csrf_of, text_of

HTML = "text/html; charset=utf-8"
HOUR_MS = 3_600_000


def now_ms() -> int:
    return int(time.time() * 1000)


def b64(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(stack: LocalStack, *, key: str | None = None, algorithm: str = "HS256", drop: tuple[str, ...] = (), **claims: object) -> str:
    payload = {"user_id": "4000000012345", "organization_id": "600999000111", "organization_name": "Zylker", "exp": now_ms() + HOUR_MS, **claims}
    for name in drop:
        payload.pop(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(payload, key or stack.extension_secret_key, algorithm=algorithm, headers={"typ": "JWT"})


def signed_utf8(stack: LocalStack, **claims: object) -> str:
    """Signed as a JWT library that writes JSON as UTF-8 (not as \\u escapes) would sign it."""
    payload = {"user_id": "4000000012345", "organization_id": "600999000111", "organization_name": "Zylker", "exp": now_ms() + HOUR_MS, **claims}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.api_jws.encode(json.dumps(payload, ensure_ascii=False).encode(), stack.extension_secret_key, algorithm="HS256", headers={"typ": "JWT"})


def reference(page: Any) -> str:
    """The reason an error page names ('Reference: <reason>')."""
    return text_of(page).split("Reference: ")[1].split(" ")[0]


def assert_page_headers(response: Any) -> None:
    assert response.headers["Content-Type"] == HTML
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; script-src 'nonce-")
    assert "form-action 'self'" in csp


def item_count(stack: LocalStack) -> int:
    return int(stack.aws_client("dynamodb").scan(TableName=stack.table_name, Select="COUNT", ConsistentRead=True)["Count"])


def zoho_calls(stack: LocalStack) -> list[dict[str, Any]]:
    return list(requests.get(f"{stack.sandbox_url}/sandbox/calls", timeout=5).json())


@dataclass(frozen=True)
class TokenCase:
    name: str
    query: Callable[[LocalStack], str]
    status: int
    reason: str
    connection: str = CONNECTION


def token_query(build: Callable[[LocalStack], str]) -> Callable[[LocalStack], str]:
    return lambda stack: "jwttoken=" + quote(build(stack), safe="")


def short_signature(token: str) -> str:
    head, signature = token.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return f"{head}.{b64(raw[:-3])}"


def cut_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload[:-6]}.{signature}"


def padded_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload}{'=' * (-len(payload) % 4) or '===='}.{signature}"


def header_swap(stack: LocalStack, header: dict[str, str]) -> str:
    _, payload, signature = signed(stack).split(".")
    return f"{b64(header)}.{payload}.{signature}"


TOKEN_CASES = [
    TokenCase("no query string", lambda s: "", 400, "missing_token"),
    TokenCase("another parameter only", lambda s: "jwtToken=abc", 400, "missing_token"),
    TokenCase("empty token", lambda s: "jwttoken=", 400, "missing_token"),
    TokenCase("blank token", lambda s: "jwttoken=%20%20%09", 400, "missing_token"),
    TokenCase("repeated token", lambda s: f"jwttoken={signed(s)}&jwttoken={signed(s)}", 400, "repeated_token"),
    TokenCase("repeated, one empty", lambda s: f"jwttoken=&jwttoken={signed(s)}", 400, "repeated_token"),
    TokenCase("garbage", token_query(lambda s: "not a token"), 400, "malformed_token"),
    TokenCase("two segments", token_query(lambda s: "a.b"), 400, "malformed_token"),
    TokenCase("four segments", token_query(lambda s: signed(s) + ".x"), 400, "malformed_token"),
    TokenCase("header not JSON", token_query(lambda s: f"{b64(b'{nope')}.{signed(s).split('.', 1)[1]}"), 400, "malformed_token"),
    TokenCase(
        "signed JSON array payload", token_query(lambda s: jwt.api_jws.encode(b"[1, 2]", s.extension_secret_key, algorithm="HS256")), 400, "malformed_token"
    ),
    TokenCase("unsigned JSON array payload", token_query(lambda s: f"{b64({'typ': 'JWT', 'alg': 'HS256'})}.{b64([1, 2])}.c2ln"), 401, "bad_signature"),
    TokenCase("signature 3 bytes short", token_query(lambda s: short_signature(signed(s))), 401, "bad_signature"),
    TokenCase("signature not canonical base64", token_query(lambda s: signed(s)[:-1] + "_"), 400, "malformed_token"),
    # Another spelling of a valid token would be another single-use key: one spelling only.
    TokenCase("signature padded with =", token_query(lambda s: signed(s) + "="), 400, "malformed_token"),
    TokenCase("payload padded with =", token_query(lambda s: padded_payload(signed(s))), 400, "malformed_token"),
    TokenCase("signature emptied", token_query(lambda s: signed(s).rsplit(".", 1)[0] + "."), 401, "bad_signature"),
    TokenCase("payload cut short", token_query(lambda s: cut_payload(signed(s))), 401, "bad_signature"),
    TokenCase("oversized", token_query(lambda s: signed(s, organization_name="x" * 5000)), 400, "oversized_token"),
    TokenCase("alg none, unsigned", token_query(lambda s: f"{b64({'typ': 'JWT', 'alg': 'none'})}.{signed(s).split('.')[1]}."), 400, "wrong_algorithm"),
    TokenCase("alg None spelled oddly", token_query(lambda s: header_swap(s, {"typ": "JWT", "alg": "None"})), 400, "wrong_algorithm"),
    TokenCase("HS512", token_query(lambda s: signed(s, algorithm="HS512")), 400, "wrong_algorithm"),
    TokenCase("RS256 header on an HMAC signature", token_query(lambda s: header_swap(s, {"typ": "JWT", "alg": "RS256"})), 400, "wrong_algorithm"),
    TokenCase("no alg", token_query(lambda s: header_swap(s, {"typ": "JWT"})), 400, "wrong_algorithm"),
    TokenCase("wrong key", token_query(lambda s: signed(s, key="an-attacker-key-that-is-long-enough")), 401, "bad_signature"),
    TokenCase("empty-string key", token_query(lambda s: signed(s, key="x")), 401, "bad_signature"),
    TokenCase("expired an hour ago (ms)", token_query(lambda s: signed(s, exp=now_ms() - HOUR_MS)), 401, "token_expired"),
    TokenCase("exp in seconds", token_query(lambda s: signed(s, exp=int(time.time()) + 3600)), 401, "token_expired"),
    TokenCase("exp zero", token_query(lambda s: signed(s, exp=0)), 401, "token_expired"),
    TokenCase("exp negative", token_query(lambda s: signed(s, exp=-1)), 401, "token_expired"),
    TokenCase("exp a day ahead", token_query(lambda s: signed(s, exp=now_ms() + 24 * HOUR_MS)), 400, "exp_too_far"),
    TokenCase("exp absurd", token_query(lambda s: signed(s, exp=2**63)), 400, "exp_too_far"),
    TokenCase("exp a string", token_query(lambda s: signed(s, exp=str(now_ms() + HOUR_MS))), 400, "bad_claim_exp"),
    TokenCase("exp a float", token_query(lambda s: signed(s, exp=now_ms() + HOUR_MS + 0.5)), 400, "bad_claim_exp"),
    TokenCase("exp a boolean", token_query(lambda s: signed(s, exp=True)), 400, "bad_claim_exp"),
    TokenCase("exp null", token_query(lambda s: signed(s, exp=None)), 400, "bad_claim_exp"),
    TokenCase("exp missing", token_query(lambda s: signed(s, drop=("exp",))), 400, "bad_claim_exp"),
    TokenCase("user_id missing", token_query(lambda s: signed(s, drop=("user_id",))), 400, "bad_claim_user_id"),
    TokenCase("user_id a number", token_query(lambda s: signed(s, user_id=4000000012345)), 400, "bad_claim_user_id"),
    TokenCase("organization_id a number", token_query(lambda s: signed(s, organization_id=600999000111)), 400, "bad_claim_organization_id"),
    TokenCase("organization_id empty", token_query(lambda s: signed(s, organization_id="")), 400, "bad_claim_organization_id"),
    TokenCase("organization_id a list", token_query(lambda s: signed(s, organization_id=["6009"])), 400, "bad_claim_organization_id"),
    TokenCase("organization_name blank", token_query(lambda s: signed(s, organization_name="   ")), 400, "bad_claim_organization_name"),
    TokenCase("organization_name null", token_query(lambda s: signed(s, organization_name=None)), 400, "bad_claim_organization_name"),
    TokenCase("organization_name too long", token_query(lambda s: signed(s, organization_name="n" * 600)), 400, "bad_claim_organization_name"),
    # DynamoDB keys are limited in bytes (2048 for a partition key): the org id is part of one.
    TokenCase(
        "organization_id of 512 four-byte characters",
        token_query(lambda s: signed_utf8(s, organization_id="\U0001f600" * 512)),
        400,
        "bad_claim_organization_id",
    ),
    TokenCase(
        "organization_name of 512 three-byte characters",
        token_query(lambda s: signed_utf8(s, organization_name="\u20ac" * 512)),
        400,
        "bad_claim_organization_name",
    ),
    TokenCase("organization_name with a lone surrogate", token_query(lambda s: signed(s, organization_name="Acme\ud800")), 400, "malformed_token"),
    TokenCase("unknown connection", token_query(signed), 404, "unknown_connection", "ec__com_someone_else"),
    TokenCase("connection with a NUL", token_query(signed), 404, "unknown_connection", "ec__com_acme%00"),
    TokenCase("connection in another case", token_query(signed), 404, "unknown_connection", "EC__COM_ACME"),
    TokenCase("very long connection name", token_query(signed), 404, "unknown_connection", "e" * 2000),
]


@pytest.mark.parametrize("kind", ["connect", "revoke"])
@pytest.mark.parametrize("case", TOKEN_CASES, ids=[case.name for case in TOKEN_CASES])
def test_the_connection_and_revoke_urls_refuse_bad_tokens(service: Any, stack: LocalStack, case: TokenCase, kind: str) -> None:
    before = item_count(stack)
    query = case.query(stack)
    response = service.http.get(f"/connections/{case.connection}/{kind}" + (f"?{query}" if query else ""))
    assert (response.status_code, reference(response)) == (case.status, case.reason)
    assert_page_headers(response)
    assert "Set-Cookie" not in response.headers
    assert item_count(stack) == before
    assert zoho_calls(stack) == []


@pytest.mark.parametrize("padding", ["%20", "%0A", "%09%20"])
def test_white_space_around_the_token_is_tolerated(browser: Browser, stack: LocalStack, padding: str) -> None:
    response = browser.get(f"/connections/{CONNECTION}/revoke?jwttoken={padding}{signed(stack)}{padding}")
    assert response.status_code == 303


@dataclass(frozen=True)
class FormCase:
    name: str
    body: bytes
    content_type: str
    status: int
    reason: str


def form_cases(csrf: str) -> list[FormCase]:
    return [
        FormCase("missing CSRF token", b"decision=allow", "application/x-www-form-urlencoded", 403, "csrf_rejected"),
        FormCase("empty CSRF token", b"decision=allow&csrf_token=", "application/x-www-form-urlencoded", 403, "csrf_rejected"),
        FormCase("wrong CSRF token", f"decision=allow&csrf_token={csrf[:-2]}xx".encode(), "application/x-www-form-urlencoded", 403, "csrf_rejected"),
        FormCase(
            "duplicated CSRF token",
            f"csrf_token={csrf}&csrf_token={csrf}&decision=allow".encode(),
            "application/x-www-form-urlencoded",
            400,
            "bad_form_duplicate_field",
        ),
        FormCase(
            "duplicated decision",
            f"csrf_token={csrf}&decision=deny&decision=allow".encode(),
            "application/x-www-form-urlencoded",
            400,
            "bad_form_duplicate_field",
        ),
        FormCase("unknown decision", f"csrf_token={csrf}&decision=maybe".encode(), "application/x-www-form-urlencoded", 409, "bad_decision"),
        FormCase("revoke decision on a connect", f"csrf_token={csrf}&decision=revoke".encode(), "application/x-www-form-urlencoded", 409, "bad_decision"),
        FormCase("no decision", f"csrf_token={csrf}".encode(), "application/x-www-form-urlencoded", 409, "bad_decision"),
        FormCase("JSON body", json.dumps({"csrf_token": csrf, "decision": "allow"}).encode(), "application/json", 400, "bad_form_content_type"),
        FormCase("multipart body", b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x", 400, "bad_form_content_type"),
        FormCase("plain text", f"csrf_token={csrf}&decision=allow".encode(), "text/plain", 400, "bad_form_content_type"),
        FormCase("no content type", f"csrf_token={csrf}&decision=allow".encode(), "", 400, "bad_form_content_type"),
        FormCase("non-ASCII body", "csrf_token=é&decision=allow".encode(), "application/x-www-form-urlencoded", 400, "bad_form_encoding"),
        FormCase("oversized body", b"a=" + b"x" * 5000, "application/x-www-form-urlencoded", 400, "bad_form_too_large"),
        FormCase("too many fields", b"&".join(b"f%d=1" % n for n in range(40)), "application/x-www-form-urlencoded", 400, "bad_form_encoding"),
        FormCase("broken pair", b"csrf_token", "application/x-www-form-urlencoded", 400, "bad_form_encoding"),
    ]


@pytest.mark.parametrize("index", range(len(form_cases("x"))), ids=[case.name for case in form_cases("x")])
def test_the_consent_form_refuses_bad_posts(browser: Browser, stack: LocalStack, installation: Installation, index: int) -> None:
    consent = browser.connect(installation)
    case = form_cases(csrf_of(consent))[index]
    headers = {"Cookie": f"__Host-zoho_ec_attempt={browser.cookie}"}
    if case.content_type:
        headers["Content-Type"] = case.content_type
    response = browser.client.http.post("/flow/decision", headers=headers, body=case.body)
    assert (response.status_code, reference(response)) == (case.status, case.reason)
    assert_page_headers(response)
    assert zoho_calls(stack) == []
    # The form the person sees still works afterwards.
    assert browser.decide(consent, "allow").status_code == 303
    assert "is connected to Acme" in text_of(browser.get("/flow"))


def test_a_form_with_a_charset_parameter_is_accepted(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    consent = browser.connect(installation)
    response = browser.post(
        "/flow/decision", {"csrf_token": csrf_of(consent), "decision": "allow"}, content_type="application/x-www-form-urlencoded; charset=UTF-8"
    )
    assert response.status_code == 303
    assert [call["action"] for call in zoho_calls(stack)] == ["mark_as_connected"]


def test_a_foreign_attempt_cookie_with_this_pages_csrf_token_is_refused(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    victim_page = browser.connect(installation)
    attacker = Browser(browser.client, stack)
    attacker.connect(Installation())
    response = attacker.post("/flow/decision", {"csrf_token": csrf_of(victim_page), "decision": "allow"})
    assert (response.status_code, reference(response)) == (403, "csrf_rejected")
    assert zoho_calls(stack) == []


def test_an_expired_attempt_is_stale_even_before_ttl_deletes_it(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    consent = browser.connect(installation)
    stack.aws_client("dynamodb").update_item(
        TableName=stack.table_name,
        Key={"pk": {"S": f"ATTEMPT#{browser.cookie}"}, "sk": {"S": "ATTEMPT"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    response = browser.decide(consent, "allow")
    assert (response.status_code, reference(response)) == (400, "stale_attempt")
    assert zoho_calls(stack) == []


@pytest.mark.parametrize("cookie", ["", "unknown-attempt", "a" * 4000, "%00", '"quoted"'])
def test_an_unknown_or_garbled_cookie_is_a_stale_attempt(service: Any, cookie: str) -> None:
    response = service.http.get("/flow", headers={"Cookie": f"__Host-zoho_ec_attempt={cookie}"})
    assert (response.status_code, reference(response)) == (400, "stale_attempt")


def test_a_token_used_by_one_attempt_cannot_complete_another(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    token = installation.token(stack)
    first, second = browser, Browser(browser.client, stack)
    pages = []
    for person in (first, second):
        started = person.start("connect", token)  # a reload or a prefetch: the GET does not spend the token
        assert started.status_code == 303
        pages.append(person.get(person.sign_in(started.headers["Location"]).headers["Location"]))
    assert first.decide(pages[0], "allow").status_code == 303
    replay = second.decide(pages[1], "allow")
    assert (replay.status_code, reference(replay)) == (409, "token_replayed")
    assert [call["action"] for call in zoho_calls(stack)] == ["mark_as_connected"]


def _page_for(person: Browser, kind: str, token: str) -> Any:
    """The decision page of a new attempt started with ``token`` (signed in first for a connect)."""
    started = person.start(kind, token)
    assert started.status_code == 303, started.body
    location = started.headers["Location"]
    return person.get(person.sign_in(location).headers["Location"] if kind == "connect" else location)


@pytest.mark.parametrize(("kind", "no", "yes"), [("connect", "deny", "allow"), ("revoke", "cancel", "revoke")])
def test_a_declined_token_is_spent_too(browser: Browser, stack: LocalStack, installation: Installation, kind: str, no: str, yes: str) -> None:
    """Deny and Cancel are decisions: the link cannot start another attempt, and a page opened with it
    before (another tab, another browser) cannot complete one."""
    token = installation.token(stack)
    other = Browser(browser.client, stack)
    first, waiting = _page_for(browser, kind, token), _page_for(other, kind, token)
    assert browser.decide(first, no).status_code == 303
    again = Browser(browser.client, stack).start(kind, token)
    assert (again.status_code, reference(again)) == (409, "token_replayed")
    late = other.decide(waiting, yes)
    assert (late.status_code, reference(late)) == (409, "token_replayed")
    assert zoho_calls(stack) == []
    store = DynamoStore(stack.aws_client("dynamodb"), stack.table_name)
    assert (store.get_connection(installation.organization_id, CONNECTION), store.list_audit(installation.organization_id, CONNECTION)) == (None, [])


def test_a_second_account_cannot_take_over_a_connected_org_even_with_a_form_shown_earlier(
    browser: Browser, stack: LocalStack, installation: Installation
) -> None:
    mallory = Browser(browser.client, stack)
    mallory_page = mallory.connect(installation, subject="mallory@elsewhere.example")
    browser.decide(browser.connect(installation), "allow")
    response = mallory.decide(mallory_page, "allow")
    assert (response.status_code, reference(response)) == (409, "already_connected")
    assert [call["action"] for call in zoho_calls(stack)] == ["mark_as_connected"]


def test_identity_comes_only_from_the_verified_token(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    started = browser.get(
        f"/connections/{CONNECTION}/connect?jwttoken={installation.token(stack)}&organization_id=666&user_id=666",
        headers={"Referer": f"{stack.sandbox_url}/"},
    )
    consent = browser.get(browser.sign_in(started.headers["Location"]).headers["Location"])
    browser.post("/flow/decision", [("csrf_token", csrf_of(consent)), ("decision", "allow"), ("organization_id", "666")])
    calls = zoho_calls(stack)
    assert [(call["organization_id"], call["claims"]["organization_id"], call["claims"]["user_id"]) for call in calls] == [
        (installation.organization_id, installation.organization_id, installation.user_id)
    ]


@pytest.mark.parametrize(
    ("referer", "origin", "target"),
    [
        ("https://evil.example/", None, "SANDBOX"),
        ("https://books.zoho.eu.evil.example/", None, "SANDBOX"),
        ("http://127.0.0.1:1/", None, "SANDBOX"),
        (None, "null", "SANDBOX"),
        ("not a url", None, "SANDBOX"),
        (None, None, "SANDBOX"),
        ("EU/app/6000#settings", None, "EU"),
        (None, "EU", "EU"),
        ("https://evil.example/", "EU", "EU"),
        ("EU.evil.example/", None, "SANDBOX"),
        ("SANDBOX/some/page?x=1", None, "SANDBOX"),
        (None, "http://[::1", "SANDBOX"),
        ("EU", "https://books.zoho.eu[=", "EU"),
        ("http://[::1/x", "codehttp://[::1", "SANDBOX"),
    ],
)
def test_the_post_message_target_is_an_allowlisted_origin_never_request_input(
    browser: Browser, stack: LocalStack, installation: Installation, monkeypatch: pytest.MonkeyPatch, referer: str | None, origin: str | None, target: str
) -> None:
    from chalicelib import bootstrap

    # Two data centres, both played by the sandbox under two origins: "com" (the default) and "eu".
    eu = stack.sandbox_url.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("ZOHO_DATA_CENTERS", json.dumps({"com": stack.sandbox_url, "eu": eu}))
    bootstrap.reset()

    def filled(value: str) -> str:
        return value.replace("SANDBOX", stack.sandbox_url).replace("EU", eu)

    headers = {name: filled(value) for name, value in (("Referer", referer), ("Origin", origin)) if value is not None}
    browser.get(f"/connections/{CONNECTION}/revoke?jwttoken={installation.token(stack)}", headers=headers)
    browser.decide(browser.get("/flow"), "cancel")
    record_free_page = browser.get("/flow").body.decode()
    assert "zoho-status" not in record_free_page  # nothing is posted when nothing changed
    browser.get(f"/connections/{CONNECTION}/revoke?jwttoken={installation.token(stack)}", headers=headers)
    consent = browser.get("/flow")
    fault_free = browser.decide(consent, "revoke")
    assert fault_free.status_code == 303
    result = browser.get("/flow").body.decode()
    data = json.loads(result.split('id="zoho-status">')[1].split("</script>")[0])
    assert data["target_origin"] == filled(target)
    assert "evil" not in result


def test_a_rotated_secret_key_still_verifies_tokens_signed_with_the_previous_one(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    secretsmanager = stack.aws_client("secretsmanager")
    secret_id = stack.stage_env["EXTENSION_SECRET_ID"]
    old_token = installation.token(stack)
    assert browser.start("revoke", old_token).status_code == 303  # warms the cache with the old key
    new_key = "rotated-secret-key-" + "n" * 24
    secretsmanager.put_secret_value(SecretId=secret_id, SecretString=new_key)
    try:
        fresh = Browser(browser.client, stack)
        new_token = installation.token(stack, key=new_key)
        assert fresh.start("revoke", new_token).status_code == 303  # cache refreshed on the miss
        other = Browser(browser.client, stack)
        assert other.start("connect", Installation().token(stack)).status_code == 303  # previous version, within the grace window
    finally:
        secretsmanager.put_secret_value(SecretId=secret_id, SecretString=stack.extension_secret_key)


@pytest.mark.parametrize("cookie", ["a" * 4000, "x" * 42, "x" * 44, "%00" * 20, "a" * 42 + "!"])
def test_a_cookie_not_shaped_like_ours_never_reaches_the_table(service: Any, cookie: str) -> None:
    from chalicelib import bootstrap

    service.http.get("/health")
    reads: list[str] = []
    first = service.http.get("/flow", headers={"Cookie": "__Host-zoho_ec_attempt=" + "b" * 43})  # builds the wiring, one read
    client = bootstrap.flows().store._client  # type: ignore[attr-defined]
    client.meta.events.register("before-call.dynamodb.GetItem", lambda **_: reads.append("GetItem"))
    response = service.http.get("/flow", headers={"Cookie": f"__Host-zoho_ec_attempt={cookie}"})
    assert (first.status_code, response.status_code, reference(response)) == (400, 400, "stale_attempt")
    assert reads == []


@pytest.mark.parametrize("state", ["%C3%A9", "%ED%A0%80", "%FF", "%00", "x" * 5000])
def test_a_callback_state_of_any_text_is_a_failed_sign_in(browser: Browser, stack: LocalStack, installation: Installation, state: str) -> None:
    started = browser.start("connect", installation.token(stack))
    assert started.status_code == 303
    response = browser.get(f"/auth/callback?state={state}&code=x")
    assert_page_headers(response)
    assert (response.status_code, reference(response)) == (401, "oidc_state_mismatch")


def test_every_read_of_the_flow_is_strongly_consistent(browser: Browser, stack: LocalStack, installation: Installation) -> None:
    """Each step reads what the step before it wrote a moment earlier (the browser follows our
    redirect at once); an eventually consistent read could still show the step before."""
    from chalicelib import bootstrap

    browser.get("/flow")  # builds the wiring
    reads: list[tuple[str, bool]] = []
    client = bootstrap.flows().store._client  # type: ignore[attr-defined]

    def keep(params: dict[str, Any], **_: Any) -> None:
        reads.append((params["Key"]["sk"]["S"].split("#", 1)[0], params.get("ConsistentRead", False)))

    client.meta.events.register("before-parameter-build.dynamodb.GetItem", keep)
    try:
        browser.decide(browser.connect(installation), "allow")
        browser.get("/flow")
        browser.start("revoke", installation.token(stack))
        browser.decide(browser.get("/flow"), "revoke")
        browser.get("/flow")
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.GetItem", keep)
    assert sorted(set(reads)) == [("ATTEMPT", True), ("CONN", True), ("TOKEN", True)]


@pytest.mark.parametrize(
    "before",
    ["a=b c", 'a=b"c', 'prefs={"a":1}', "a=\\x", "a=\u00e9", "flag", "a@b=1", "expires=1", "path=/", "__Host-zoho_ec_attempt", "=x"],
)
def test_another_cookie_the_browser_sends_first_does_not_hide_ours(browser: Browser, stack: LocalStack, installation: Installation, before: str) -> None:
    """Cookies set by other scripts on a parent domain come first, and browsers send them as they
    are: a cookie that is not a valid Python ``SimpleCookie`` must not cost the person the attempt."""
    started = browser.start("revoke", installation.token(stack))
    assert started.status_code == 303
    response = browser.get("/flow", headers={"Cookie": f"{before}; {COOKIE}={browser.cookie}; last=1"})
    assert response.status_code == 200
    assert "Disconnect Zylker Industries from Acme?" in text_of(response)
