"""The records the flows keep: a browser's attempt, an org's connection, and its audit trail; and the
decision a person takes, which the confirmer gets confirmed by Zoho."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from chalicelib.zoho_token import ZohoClaims


class Kind(enum.StrEnum):
    CONNECT = "connect"
    REVOKE = "revoke"


class Step(enum.StrEnum):
    """Where an attempt stands. Each step change is a conditional write on the attempt's version."""

    SIGNING_IN = "signing_in"  # connect: waiting for the OpenID Connect callback
    DECIDING = "deciding"  # the consent (or revoke confirmation) form is shown
    WORKING = "working"  # a decision was taken; our records and Zoho are being updated
    DONE = "done"  # outcome is final for this attempt


class Status(enum.StrEnum):
    """A connection's state. ``pending`` carries the outcome it is waiting for Zoho to confirm."""

    PENDING = "pending"
    CONNECTED = "connected"
    REVOKED = "revoked"
    FAILED = "failed"


class Outcome(enum.StrEnum):
    CONNECTED = "connected"
    REVOKED = "revoked"
    DENIED = "denied"
    NOT_CONFIRMED = "not_confirmed"  # saved on our side, Zoho did not confirm: retry-able


@dataclass
class Attempt:
    """One click on Connect or Revoke in Zoho, bound to one browser by a cookie holding ``attempt_id``."""

    attempt_id: str  # the browser's bearer secret (cookie value): never logged
    kind: Kind
    connection: str
    claims: ZohoClaims
    token_hash: str
    dc: str
    csrf_token: str
    expires_at: int  # seconds since the epoch (DynamoDB TTL); reads check it themselves
    step: Step
    created_at: int
    flow_id: str = ""  # a non-secret id that correlates the logs and records of one flow
    created_ms: int = 0
    step_at: int = 0  # when the attempt entered its current step
    oidc_state: str | None = None
    oidc_nonce: str | None = None
    code_verifier: str | None = None
    subject: str | None = None
    subject_label: str | None = None  # e-mail or name of the signed-in person, shown on the consent page
    outcome: Outcome | None = None
    failure_reason: str | None = None
    version: int = 0

    def is_expired(self, now: float) -> bool:
        return self.expires_at <= now


@dataclass
class ConnectionRecord:
    """One item per (organization_id, connection). Every change is a conditional write on ``version``."""

    organization_id: str
    connection: str
    status: Status
    organization_name: str
    zoho_user_id: str
    dc: str
    created_at: int
    updated_at: int
    desired: Status | None = None  # while pending: the status Zoho is asked to confirm
    subject: str | None = None  # the third-party account that consented (cleared on revoke)
    subject_label: str | None = None
    flow_id: str | None = None  # the flow that last decided
    last_error: str | None = None
    confirm_attempts: int = 0
    confirmed_at: int | None = None
    confirmed_ms: int | None = None
    # Only the holder of an unexpired lease may call Zoho for this record: one effective PUT at a time.
    lease_owner: str | None = None
    lease_until: int | None = None
    # The outbox: set while a decision awaits Zoho's confirmation (a sparse index the reconciler reads).
    outbox: str | None = None
    next_attempt_at: int | None = None
    version: int = 0

    def leased_to_other(self, owner: str, now: float) -> bool:
        return self.lease_owner is not None and self.lease_owner != owner and (self.lease_until or 0) > now


@dataclass(frozen=True)
class AuditEvent:
    organization_id: str
    connection: str
    at: int
    version: int
    from_status: str | None
    to_status: str
    flow_id: str | None
    actor: str | None
    detail: dict[str, str] = field(default_factory=dict)


class Unread(enum.Enum):
    """The caller has not read the connection record (``None`` would mean it read that there is none)."""

    UNREAD = "unread"


UNREAD = Unread.UNREAD


@dataclass(frozen=True)
class Decision:
    """What a person decided, from verified identity only."""

    claims: ZohoClaims
    connection: str
    dc: str
    target: Status  # CONNECTED or REVOKED
    owner: str  # the flow id of the attempt deciding (never the attempt id, a bearer secret); holds the lease
    # When the Zoho token behind this decision was presented (ms): a confirmation of the same
    # decision after that moment already made Zoho's state what this decision asks for.
    started_ms: int = 0
    subject: str | None = None
    subject_label: str | None = None

    @property
    def actor(self) -> str:
        return self.subject or f"zoho:{self.claims.user_id}"
