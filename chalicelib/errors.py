"""What can go wrong in a flow, each kind with the HTTP status and the sentence the person sees.

The web layer maps every ``FlowError`` to an HTML page in one place; nothing else decides statuses.
``reason`` is a stable machine-readable name for logs, metrics and tests.
"""

from __future__ import annotations


class FlowError(Exception):
    status = 400
    reason = "bad_request"
    title = "Something is not right"
    message = "The request could not be processed."
    retryable = False

    def __init__(self, message: str | None = None, *, reason: str | None = None) -> None:
        if message is not None:
            self.message = message
        if reason is not None:
            self.reason = reason
        super().__init__(f"{self.reason}: {self.message}")


class UnknownConnection(FlowError):
    status = 404
    reason = "unknown_connection"
    title = "Unknown connection"
    message = "This service does not serve that external connection. Check the Connection URL set in Zoho Sigma."


class InvalidZohoToken(FlowError):
    """The ``jwttoken`` Zoho sent is missing, malformed, forged, expired or incomplete."""

    status = 400
    reason = "invalid_token"
    title = "This link from Zoho is not valid"
    message = "The link from Zoho could not be verified. Go back to Zoho and click the button again."


class ExpiredZohoToken(InvalidZohoToken):
    status = 401
    reason = "token_expired"
    title = "This link from Zoho has expired"
    message = "The link from Zoho has expired. Go back to Zoho and click the button again."


class ForgedZohoToken(InvalidZohoToken):
    status = 401
    reason = "bad_signature"
    message = "The link's signature does not match this extension's Secret Key. Go back to Zoho and click the button again."


class TokenReplayed(FlowError):
    status = 409
    reason = "token_replayed"
    title = "This link was already used"
    message = "This link from Zoho has already been used. Go back to Zoho and click the button again."


class StaleAttempt(FlowError):
    status = 400
    reason = "stale_attempt"
    title = "This page has expired"
    message = (
        "We could not find your request in this browser; it may have expired or been started in another window. Go back to Zoho and click the button again."
    )


class WrongStep(FlowError):
    status = 409
    reason = "wrong_step"
    title = "This step is not available"
    message = "This request does not fit where you are in the process. Go back to Zoho and start again."


class CsrfRejected(FlowError):
    status = 403
    reason = "csrf_rejected"
    title = "The form could not be verified"
    message = "The form you sent could not be verified. Reload the page and try again."


class BadForm(FlowError):
    status = 400
    reason = "bad_form"
    title = "The form could not be read"
    message = "The form you sent could not be read. Reload the page and try again."


class SignInFailed(FlowError):
    status = 401
    reason = "sign_in_failed"
    title = "Sign-in did not complete"
    message = "We could not sign you in. Go back to Zoho and click Connect to try again."


class AlreadyConnected(FlowError):
    status = 409
    reason = "already_connected"
    title = "Already connected to another account"
    message = (
        "This Zoho organization is already connected to a different account on our side. Revoke the existing connection in Zoho first, then connect again."
    )


class ServiceUnavailable(FlowError):
    status = 503
    reason = "service_unavailable"
    title = "Temporarily unavailable"
    message = "The service is temporarily unavailable. Please try again in a minute."
    retryable = True
