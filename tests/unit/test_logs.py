"""Logs are JSON lines carrying the request's correlation id and the flow's id."""

from __future__ import annotations

import io
import json
import logging

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
