"""Logs are JSON lines carrying the request's correlation id and the flow's id."""

from __future__ import annotations

import io
import json
import logging
import re
import sys

from chalicelib import logs


def test_log_lines_are_json_with_correlation_and_flow_ids() -> None:
    logs.configure()
    (handler,) = logs.service_handlers()
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logs.start_request("req-123")
        logs.bind_flow("flow-abc")
        logging.getLogger("chalicelib.flow").info("attempt_started", extra={"kind": "connect"})
        logs.start_request(None)
        logging.getLogger("chalicelib.flow").info("next_request")
    finally:
        handler.setStream(previous)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["message"], first["correlation_id"], first["flow_id"], first["kind"], first["service"], first["level"]) == (
        "attempt_started",
        "req-123",
        "flow-abc",
        "connect",
        "zoho-external-connections",
        "INFO",
    )
    assert "flow_id" not in second  # the formatter leaves out empty keys
    assert len(second["correlation_id"]) == 32


def test_configure_is_idempotent() -> None:
    logs.configure()
    logs.configure()
    assert len(logs.service_handlers()) == 1


def test_each_line_is_written_once_not_again_by_a_handler_on_the_root_logger() -> None:
    """Lambda's runtime and chalice local both put a plain-text handler on the root logger."""
    logs.configure()
    root_stream = io.StringIO()
    root_handler = logging.StreamHandler(root_stream)
    logging.getLogger().addHandler(root_handler)
    (handler,) = logs.service_handlers()
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logging.getLogger("chalicelib.flow").warning("written_once")
    finally:
        handler.setStream(previous)
        logging.getLogger().removeHandler(root_handler)
    assert (json.loads(stream.getvalue())["message"], root_stream.getvalue()) == ("written_once", "")


def test_a_line_says_where_when_which_trace_and_which_exception(monkeypatch) -> None:
    logs.configure()
    (handler,) = logs.service_handlers()
    stream = io.StringIO()
    previous = handler.setStream(stream)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    try:
        logs.start_request("req-9")
        try:
            {}["missing"]
        except KeyError:
            logged_at = sys._getframe().f_lineno + 1
            logging.getLogger("chalicelib.flow").exception("step_failed")
        monkeypatch.delenv("_X_AMZN_TRACE_ID")
        logging.getLogger("chalicelib.flow").info("untraced")
    finally:
        handler.setStream(previous)
    failed, untraced = (json.loads(line) for line in stream.getvalue().splitlines())
    assert failed["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert failed["location"] == f"test_a_line_says_where_when_which_trace_and_which_exception:{logged_at}"
    assert (failed["level"], failed["exception_name"]) == ("ERROR", "KeyError")
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert failed["exception"].endswith("KeyError: 'missing'")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", failed["timestamp"])
    assert set(untraced) == {"level", "location", "message", "service", "correlation_id", "timestamp"}
