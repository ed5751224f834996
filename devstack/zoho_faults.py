"""Faults the sandbox can inject into Zoho's External Connections API, for tests.

A fault replaces (or delays) the normal reply of the next ``times`` PUTs, or of every PUT until
cleared. The PUT is still judged and recorded as usual, so a test can tell "the service sent a
valid request and Zoho failed" from "the service sent a bad request".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import flask

from devstack.zoho_replies import INVALID_URL, NOT_AUTHORIZED, ZohoReply

FAULT_MODES: Final = frozenset(
    {
        "ok",
        "code",
        "http_400",
        "http_401",
        "http_404",
        "http_429",
        "http_500",
        "html",
        "slow",
        "hang",
    }
)
DEFAULT_DELAYS: Final = {"slow": 2.0, "hang": 60.0}
# A longer sleep would outlive any test or person waiting on it.
MAX_DELAY: Final = 600.0
_DELAYING_MODES: Final = frozenset({"slow", "hang"})

_REPLACEMENT_REPLIES: Final = {
    "code": ZohoReply(200, 1002, "Sandbox: simulated failure"),
    "http_400": ZohoReply(400, 2, "Sandbox: simulated bad request"),
    "http_401": NOT_AUTHORIZED,
    "http_404": INVALID_URL,
    "http_429": ZohoReply(429, 44, "API call limit exceeded"),
    "http_500": ZohoReply(500, 500, "Internal error"),
}
# What a proxy in front of Zoho answers when Zoho itself is down: not JSON at all.
BAD_GATEWAY_STATUS: Final = 502
_BAD_GATEWAY_HTML: Final = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><p>The server is temporarily unavailable.</p></body></html>"
)


@dataclass(frozen=True)
class Fault:
    mode: str
    times: int | None = None
    delay: float = 0.0
    retry_after: int | None = None

    def planned_outcome(self, normal: ZohoReply) -> tuple[int, int | None]:
        """HTTP status and Zoho code the faulted PUT will get (code None: not JSON).

        Known before any delay starts, so a call can be recorded the moment it arrives.
        """
        if self.mode in _DELAYING_MODES:
            return normal.http_status, normal.code
        if self.mode == "html":
            return BAD_GATEWAY_STATUS, None
        reply = _REPLACEMENT_REPLIES[self.mode]
        return reply.http_status, reply.code

    def respond(self, normal: ZohoReply) -> flask.Response:
        """Play the fault; ``slow`` and ``hang`` block the calling thread for ``delay``."""
        if self.mode in _DELAYING_MODES:
            time.sleep(self.delay)
            return normal.response()
        if self.mode == "html":
            return flask.Response(
                _BAD_GATEWAY_HTML,
                status=BAD_GATEWAY_STATUS,
                content_type="text/html; charset=utf-8",
            )
        response = _REPLACEMENT_REPLIES[self.mode].response()
        if self.mode == "http_429" and self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response


class InvalidFaultError(ValueError):
    """The body of ``POST /sandbox/faults`` does not describe a fault the sandbox can play."""


def parse_fault(body: object) -> Fault | None:
    """The fault a ``/sandbox/faults`` body asks for; None for ``{"mode": "ok"}``."""
    if not isinstance(body, dict):
        raise InvalidFaultError("the body must be a JSON object")
    unknown = set(body) - {"mode", "times", "delay", "retry_after"}
    if unknown:
        raise InvalidFaultError(f"unknown fields: {', '.join(sorted(unknown))}")
    mode = body.get("mode")
    if mode not in FAULT_MODES:
        raise InvalidFaultError(f"mode must be one of: {', '.join(sorted(FAULT_MODES))}")
    if mode == "ok":
        return None
    return Fault(
        mode=mode,
        times=_optional_int(body.get("times"), "times", minimum=1),
        delay=_delay(body.get("delay", DEFAULT_DELAYS.get(mode, 0.0))),
        retry_after=_optional_int(body.get("retry_after"), "retry_after", minimum=0),
    )


def _optional_int(value: object, name: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidFaultError(f"{name} must be null or an integer >= {minimum}")
    return value


def _delay(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_DELAY:
        raise InvalidFaultError(f"delay must be a number of seconds from 0 to {MAX_DELAY:g}")
    return float(value)
