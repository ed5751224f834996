"""Structured JSON logs (python-json-logger) carrying a correlation id per request and a flow id per
connect/revoke flow, so one admin's whole flow can be read back with one Logs Insights query.

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
    """What every line carries besides its event: where it was logged, the request's and the flow's
    ids, the X-Ray trace (Lambda sets ``_X_AMZN_TRACE_ID`` per invocation) and an exception's name."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.location = f"{record.funcName}:{record.lineno}"
        record.correlation_id = _correlation_id.get()
        record.flow_id = _flow_id.get()
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        record.xray_trace_id = trace.split(";", 1)[0].removeprefix("Root=") if trace else None
        if record.exc_info and record.exc_info[0] is not None:
            record.exception_name = record.exc_info[0].__name__
        return True


def configure() -> None:
    """Send the service's logs as JSON lines to stderr (CloudWatch Logs in Lambda). Idempotent."""
    global _configured
    if _configured:  # every request calls this: no lock once it is done
        return
    with _lock:
        if _configured:
            return
        handler = _JsonLines()
        handler.setFormatter(_formatter())
        handler.addFilter(_Context())
        service_logger = logging.getLogger("chalicelib")
        service_logger.addHandler(handler)
        service_logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        # This handler writes every line. A handler on the root logger (Lambda's runtime puts a
        # plain-text one there, and so does chalice local) would write each one a second time.
        service_logger.propagate = False
        _configured = True


def _formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    class Formatter(JsonFormatter):
        def process_log_record(self, log_data: dict[str, object]) -> dict[str, object]:
            return {key: value for key, value in log_data.items() if value is not None}  # no empty keys

    return Formatter(
        "{levelname}{location}{message}",
        style="{",
        rename_fields={"levelname": "level", "exc_info": "exception"},
        static_fields={"service": SERVICE},
        timestamp=True,  # ISO 8601, UTC, from the record's creation time
    )


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
