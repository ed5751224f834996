"""Structured JSON logs (Powertools' formatter) carrying a correlation id per request and a flow id
per connect/revoke flow, so one admin's whole flow can be read back with one Logs Insights query.

Nothing here logs values: modules log an event name and non-secret ``extra`` fields only.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import uuid

SERVICE = "zoho-external-connections"

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
_flow_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("flow_id", default=None)
_configured = False
_lock = threading.Lock()


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _correlation_id.get()
        record.flow_id = _flow_id.get()
        return True


def configure() -> None:
    """Send the service's logs as JSON lines to stderr (CloudWatch Logs in Lambda). Idempotent."""
    global _configured
    if _configured:  # every request calls this: no lock once it is done
        return
    with _lock:
        if _configured:
            return
        from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

        handler = _JsonLines()
        handler.setFormatter(LambdaPowertoolsFormatter(service=SERVICE))
        handler.addFilter(_Context())
        service_logger = logging.getLogger("chalicelib")
        service_logger.addHandler(handler)
        service_logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        # This handler writes every line. A handler on the root logger (Lambda's runtime puts a
        # plain-text one there, and so does chalice local) would write each one a second time.
        service_logger.propagate = False
        _configured = True


def service_handlers() -> list[logging.Handler]:
    """The handlers ``configure`` put on the service's logger (one once configured)."""
    return [handler for handler in logging.getLogger("chalicelib").handlers if isinstance(handler, _JsonLines)]


class _JsonLines(logging.StreamHandler):
    """The service's JSON lines on stderr (Lambda sends a function's output to CloudWatch Logs)."""


def start_request(request_id: str | None) -> None:
    """A new request: its id (API Gateway's request id when there is one) and no flow yet."""
    configure()
    _correlation_id.set(request_id or uuid.uuid4().hex)
    _flow_id.set(None)


def bind_flow(flow_id: str) -> None:
    _flow_id.set(flow_id or None)
