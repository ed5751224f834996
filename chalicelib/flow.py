"""The connect and revoke flows: plain Python, no web framework.

Each public method is one browser request: it reads what it needs, runs a straight list of guards
(each failure a ``FlowError`` with its status and sentence), changes state with conditional writes,
and answers a ``Page`` or a ``Redirect``. The attempt cookie binds an attempt to one browser; the
CSRF token in the form binds a POST to the page we rendered; identity comes only from the verified
Zoho token and the verified ID token.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib import logs
from chalicelib.clock import Clock, now_ms
from chalicelib.compare import same_text
from chalicelib.config import Settings
from chalicelib.errors import (
    AlreadyConnected,
    CsrfRejected,
    FlowError,
    ForgedZohoToken,
    SignInFailed,
    StaleAttempt,
    TokenReplayed,
    UnknownConnection,
    WrongStep,
)
from chalicelib.models import UNREAD, Attempt, ConnectionRecord, Decision, Kind, Outcome, Status, Step, Unread
from chalicelib.pages import CookieChange, Page, Redirect
from chalicelib.secrets import Secrets
from chalicelib.store import StaleWrite, Store
from chalicelib.telemetry import DENIALS, Telemetry
from chalicelib.zoho_token import EXP_LEEWAY_MS, ZohoClaims, verify_zoho_token

if TYPE_CHECKING:  # built lazily by bootstrap: a Revoke URL request never loads them
    from chalicelib.confirmation import Confirmer
    from chalicelib.oidc import OidcClient

logger = logging.getLogger(__name__)

ATTEMPT_ID_BYTES = 32
ATTEMPT_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
DECISIONS = {Kind.CONNECT: ("allow", "deny"), Kind.REVOKE: ("revoke", "cancel")}
# A WORKING attempt older than this has no request left working on it (Lambda's limit is 28 s).
STUCK_AFTER_SECONDS = 60
TARGET_STATUS = {Kind.CONNECT: Status.CONNECTED, Kind.REVOKE: Status.REVOKED}
TARGET_OUTCOME = {Kind.CONNECT: Outcome.CONNECTED, Kind.REVOKE: Outcome.REVOKED}


@dataclass(frozen=True)
class Web:
    """Where this deployment is reached, as seen by the browser (base URL carries any stage prefix)."""

    base_url: str

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@dataclass
class Flows:
    settings: Settings
    store: Store
    secrets: Secrets
    oidc: OidcClient
    clock: Clock
    confirmer: Confirmer
    telemetry: Telemetry

    # -- GET Connection URL / Revoke URL -------------------------------------------------------
    def start(self, kind: Kind, connection: str, jwttoken: str | None, *, referer: str | None, origin: str | None, web: Web) -> Redirect:
        if connection not in self.settings.connection_api_names:
            raise UnknownConnection()
        now = self.clock.now()
        claims = self._verify(jwttoken)
        assert jwttoken is not None  # verified above
        token_hash = hashlib.sha256(jwttoken.strip().encode()).hexdigest()
        if self.store.token_holder(token_hash, now) is not None:
            raise TokenReplayed()
        attempt = Attempt(
            attempt_id=secrets.token_urlsafe(ATTEMPT_ID_BYTES),
            kind=kind,
            connection=connection,
            claims=claims,
            token_hash=token_hash,
            dc=self.settings.data_centers.from_request(referer, origin),
            csrf_token=secrets.token_urlsafe(32),
            expires_at=(claims.exp_ms + EXP_LEEWAY_MS) // 1000,
            step=Step.DECIDING if kind is Kind.REVOKE else Step.SIGNING_IN,
            created_at=int(now),
            flow_id=secrets.token_urlsafe(9),
            created_ms=now_ms(self.clock),
            step_at=int(now),
            version=1,
        )
        location = web.url("/flow")
        if kind is Kind.CONNECT:
            attempt.oidc_state = secrets.token_urlsafe(24)
            attempt.oidc_nonce = secrets.token_urlsafe(24)
            attempt.code_verifier = secrets.token_urlsafe(48)
            location = self.oidc.authorization_url(
                redirect_uri=web.url("/auth/callback"), state=attempt.oidc_state, nonce=attempt.oidc_nonce, code_verifier=attempt.code_verifier
            )
        logs.bind_flow(attempt.flow_id)
        self.store.create_attempt(attempt)
        logger.info("attempt_started", extra={"kind": kind.value, "connection": connection, "organization_id": claims.organization_id, "dc": attempt.dc})
        return Redirect(location, cookie=CookieChange(attempt.attempt_id, max_age=max(1, attempt.expires_at - int(now))))

    def _verify(self, jwttoken: str | None) -> ZohoClaims:
        try:
            return verify_zoho_token(jwttoken, self.secrets.zoho_verification_keys(), now_ms(self.clock))
        except ForgedZohoToken:
            # Maybe the Secret Key was rotated since we cached it: look again, once (rate-limited).
            keys = self.secrets.refreshed_zoho_verification_keys()
            if not keys:
                raise
            return verify_zoho_token(jwttoken, keys, now_ms(self.clock))

    # -- GET /auth/callback ----------------------------------------------------------------------
    def sign_in_callback(self, attempt_id: str | None, params: Mapping[str, str], *, web: Web) -> Redirect:
        attempt = self._attempt(attempt_id)
        if attempt.kind is not Kind.CONNECT:
            raise WrongStep()
        if attempt.step is not Step.SIGNING_IN:
            return Redirect(web.url("/flow"))  # a reload of the callback after it worked
        assert attempt.oidc_state is not None
        assert attempt.oidc_nonce is not None
        assert attempt.code_verifier is not None
        if "error" in params:
            # Checked before state: some providers drop state on errors, and an error changes nothing.
            raise SignInFailed("Sign-in was cancelled or refused. Go back to Zoho and click Connect to try again.", reason="oidc_error")
        if not same_text(params.get("state", ""), attempt.oidc_state):
            raise SignInFailed(reason="oidc_state_mismatch")
        code = params.get("code", "")
        if not code:
            raise SignInFailed(reason="oidc_no_code")
        identity = self.oidc.sign_in(code=code, redirect_uri=web.url("/auth/callback"), code_verifier=attempt.code_verifier, nonce=attempt.oidc_nonce)
        signed_in = self._next(
            attempt, subject=identity.subject, subject_label=identity.label, oidc_state=None, oidc_nonce=None, code_verifier=None, step=Step.DECIDING
        )
        self._save_attempt(signed_in)
        logger.info("signed_in", extra={"connection": attempt.connection, "organization_id": attempt.claims.organization_id})
        return Redirect(web.url("/flow"))

    # -- GET /flow ---------------------------------------------------------------------------------
    def show(self, attempt_id: str | None, *, web: Web) -> Page:
        attempt = self._attempt(attempt_id)
        if attempt.step is Step.SIGNING_IN:
            raise SignInFailed("Sign-in has not completed. Go back to Zoho and click Connect to try again.", reason="not_signed_in")
        if attempt.step is Step.WORKING:
            attempt = self._settle_stuck(attempt)
        if attempt.step is Step.WORKING:
            return Page("working.html", self._context(attempt, web))
        if attempt.step is Step.DONE:
            return self._result_page(attempt, web)
        if attempt.kind is Kind.CONNECT:
            self._refuse_rebinding(attempt)
            return Page("consent.html", self._context(attempt, web))
        record = self.store.get_connection(attempt.claims.organization_id, attempt.connection)
        return Page("revoke.html", {**self._context(attempt, web), "record": record})

    # -- POST /flow/decision -----------------------------------------------------------------------
    def decide(self, attempt_id: str | None, form: Mapping[str, str], *, web: Web) -> Redirect:
        attempt = self._attempt_for_post(attempt_id, form)
        if attempt.step in (Step.WORKING, Step.DONE):
            return Redirect(web.url("/flow"))  # a double submit: show what the first one did
        if attempt.step is not Step.DECIDING:
            raise WrongStep()
        yes, no = DECISIONS[attempt.kind]
        decision = form.get("decision")
        if decision not in (yes, no):
            raise WrongStep("That choice is not available here. Reload the page and choose again.", reason="bad_decision")
        seen = self._refuse_rebinding(attempt) if decision == yes and attempt.kind is Kind.CONNECT else UNREAD
        # The Zoho token is spent only here, on the decision, whichever it is: reloads and prefetches
        # of the GET before this point leave the form the person sees intact, and a declined link
        # cannot start or complete another attempt afterwards.
        holder = self.store.claim_token(attempt.token_hash, attempt.attempt_id, attempt.expires_at, self.clock.now())
        if holder != attempt.attempt_id:
            raise TokenReplayed()
        if decision == no:
            self._save_attempt(self._next(attempt, step=Step.DONE, outcome=Outcome.DENIED))
            self.telemetry.count(DENIALS)
            logger.info("declined", extra={"kind": attempt.kind.value, "connection": attempt.connection, "organization_id": attempt.claims.organization_id})
            return Redirect(web.url("/flow"))
        self._work_on(attempt, seen)
        return Redirect(web.url("/flow"))

    # -- POST /flow/retry --------------------------------------------------------------------------
    def retry(self, attempt_id: str | None, form: Mapping[str, str], *, web: Web) -> Redirect:
        attempt = self._attempt_for_post(attempt_id, form)
        if attempt.step is Step.DONE and attempt.outcome is Outcome.NOT_CONFIRMED and not self._settled_elsewhere(attempt):
            self._work_on(attempt)
        return Redirect(web.url("/flow"))

    # -- the work ----------------------------------------------------------------------------------
    def _work_on(self, attempt: Attempt, seen: ConnectionRecord | Unread | None = UNREAD) -> None:
        """Move the attempt to WORKING (one request wins; a concurrent one just shows the outcome), have
        the decision confirmed, and end the attempt DONE with what happened. ``seen``: the connection
        record this request has just read, handed on so the confirmer need not read it again."""
        working = self._next(attempt, step=Step.WORKING, outcome=None, failure_reason=None)
        try:
            self.store.save_attempt(working)
        except StaleWrite:
            return
        decision = Decision(
            claims=attempt.claims,
            connection=attempt.connection,
            dc=attempt.dc,
            target=TARGET_STATUS[attempt.kind],
            owner=attempt.flow_id,
            started_ms=attempt.created_ms,
            subject=attempt.subject if attempt.kind is Kind.CONNECT else None,
            subject_label=attempt.subject_label if attempt.kind is Kind.CONNECT else None,
        )
        try:
            result = self.confirmer.decide(decision, seen=seen)
        except FlowError as exc:
            self._save_attempt(self._next(working, step=Step.DONE, outcome=Outcome.NOT_CONFIRMED, failure_reason=exc.reason))
            raise
        outcome = TARGET_OUTCOME[attempt.kind] if result.confirmed else Outcome.NOT_CONFIRMED
        self._save_attempt(self._next(working, step=Step.DONE, outcome=outcome, failure_reason=result.reason))
        logger.info("attempt_done", extra={"kind": attempt.kind.value, "connection": attempt.connection, "outcome": outcome.value, "reason": result.reason})

    def _settled_elsewhere(self, attempt: Attempt) -> bool:
        """True (and the attempt ends with its target) when the reconciler has since confirmed the
        decision this attempt wrote (the record still carries this flow's id)."""
        record = self.store.get_connection(attempt.claims.organization_id, attempt.connection)
        if record is None or record.flow_id != attempt.flow_id or record.status is not TARGET_STATUS[attempt.kind]:
            return False
        self._save_attempt(self._next(attempt, step=Step.DONE, outcome=TARGET_OUTCOME[attempt.kind], failure_reason=None))
        return True

    def _settle_stuck(self, attempt: Attempt) -> Attempt:
        """A WORKING attempt whose request died (Lambda timeout) is ended as not confirmed once no one
        can still be working on it; its decision is in the outbox, so nothing is lost."""
        if self.clock.now() - attempt.step_at < STUCK_AFTER_SECONDS:
            return attempt
        if self._settled_elsewhere(attempt):
            return self._attempt(attempt.attempt_id)
        ended = self._next(attempt, step=Step.DONE, outcome=Outcome.NOT_CONFIRMED, failure_reason="interrupted")
        self._save_attempt(ended)
        return ended

    # -- guards and helpers --------------------------------------------------------------------------
    def _next(self, attempt: Attempt, **changes: object) -> Attempt:
        return dataclasses.replace(attempt, **changes, step_at=int(self.clock.now()), version=attempt.version + 1)  # type: ignore[arg-type]

    def _attempt(self, attempt_id: str | None) -> Attempt:
        # The cookie is request input: only the shape we issue reaches the store (a 4 KB value
        # would exceed DynamoDB's key size and come back as a 503 instead of "expired").
        valid = attempt_id is not None and ATTEMPT_ID.fullmatch(attempt_id) is not None
        attempt = self.store.get_attempt(attempt_id, self.clock.now()) if valid and attempt_id else None
        if attempt is None:
            raise StaleAttempt()
        logs.bind_flow(attempt.flow_id)
        return attempt

    def _attempt_for_post(self, attempt_id: str | None, form: Mapping[str, str]) -> Attempt:
        attempt = self._attempt(attempt_id)
        if not same_text(form.get("csrf_token", ""), attempt.csrf_token):
            raise CsrfRejected()
        return attempt

    def _save_attempt(self, attempt: Attempt) -> None:
        try:
            self.store.save_attempt(attempt)
        except StaleWrite as exc:
            raise WrongStep("This request was already handled in another window or tab.", reason="attempt_changed") from exc

    def _refuse_rebinding(self, attempt: Attempt) -> ConnectionRecord | None:
        """An org connected to one account on our side is never silently moved to another. Returns
        the record it read (``None``: there is none)."""
        record = self.store.get_connection(attempt.claims.organization_id, attempt.connection)
        if record is not None and record.status is Status.CONNECTED and record.subject not in (None, attempt.subject):
            raise AlreadyConnected()
        return record

    def _context(self, attempt: Attempt, web: Web) -> dict[str, object]:
        return {
            "attempt": attempt,
            "claims": attempt.claims,
            "connection": attempt.connection,
            "csrf_token": attempt.csrf_token,
            "decision_url": web.url("/flow/decision"),
            "retry_url": web.url("/flow/retry"),
            "flow_url": web.url("/flow"),
        }

    def _result_page(self, attempt: Attempt, web: Web) -> Page:
        if attempt.outcome is Outcome.NOT_CONFIRMED and self._settled_elsewhere(attempt):
            attempt = self._attempt(attempt.attempt_id)
        context = self._context(attempt, web)
        outcome = attempt.outcome
        if outcome in (Outcome.CONNECTED, Outcome.REVOKED):
            assert outcome is not None
            context["post_message"] = {
                "message": {"external_connector_api_name": attempt.connection, "connection_status": outcome.value},
                "target_origin": self.settings.data_centers.origin(attempt.dc),
            }
        # A page that shows the state as designed is a 200, "not confirmed" included: a 5xx would
        # count as the service failing, and proxies may replace the page.
        return Page("result.html", {**context, "outcome": outcome.value if outcome else "", "failure_sentence": failure_sentence(attempt.failure_reason)})


def failure_sentence(reason: str | None) -> str:
    """Why Zoho did not confirm, in words (the reason code is shown apart, as a reference)."""
    reason = reason or ""
    if reason == "zoho_timeout":
        return "Zoho did not answer in time."
    if reason == "zoho_unreachable":
        return "we could not reach Zoho."
    if reason == "zoho_http_429":
        return "Zoho asked us to slow down."
    if reason == "zoho_bad_reply" or reason.startswith("zoho_http_5"):
        return "Zoho had a temporary problem."
    if reason == "zoho_code_nonzero" or reason.startswith("zoho_http_4"):
        return "Zoho refused the request. If this keeps happening, contact us."
    if reason == "busy":
        return "another change to this connection was still being confirmed."
    return "Zoho did not confirm it."
