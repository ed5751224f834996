"""Metrics are Embedded Metric Format lines with the stage's service dimension."""

from __future__ import annotations

import json

import pytest

from chalicelib.telemetry import EmfTelemetry


def test_counts_carry_the_service_dimension_and_a_reason_copy(capsys: pytest.CaptureFixture[str]) -> None:
    EmfTelemetry("zoho-external-connections-dev").count("ZohoConfirmationFailures", reason="zoho_http_500")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["service"], line.get("reason"), line["ZohoConfirmationFailures"]) for line in lines] == [
        ("zoho-external-connections-dev", None, [1.0]),
        ("zoho-external-connections-dev", "zoho_http_500", [1.0]),
    ]
    assert lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ZohoExternalConnections"
    assert lines[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "reason"]]
