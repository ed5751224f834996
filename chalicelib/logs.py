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
    """Send the service's logs as JSON to stdout (CloudWatch Logs in Lambda). Idempotent."""
    global _configured
    if _configured:  # every request calls this: no lock once it is done
        return
    with _lock:
        if _configured:
            return
        from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

        handler = logging.StreamHandler()
        handler.setFormatter(LambdaPowertoolsFormatter(service=SERVICE))
        handler.addFilter(_Context())
        service_logger = logging.getLogger("chalicelib")
        service_logger.addHandler(handler)
        service_logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        # Lambda's runtime puts its own plain-text handler on the root logger: without this every
        # line would be written twice. Elsewhere (tests, chalice local) records still propagate.
        service_logger.propagate = "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
        _configured = True


def start_request(request_id: str | None) -> None:
    """A new request: its id (API Gateway's request id when there is one) and no flow yet."""
    configure()
    _correlation_id.set(request_id or uuid.uuid4().hex)
    _flow_id.set(None)


def bind_flow(flow_id: str) -> None:
    _flow_id.set(flow_id or None)
