"""Metrics in CloudWatch Embedded Metric Format (Powertools), written to stdout: no API call, no latency.

Names are a contract with the alarms and dashboard in infra/resources.yaml.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Protocol

NAMESPACE = "ZohoExternalConnections"
SERVICE = "zoho-external-connections"

CONNECTIONS_CONFIRMED = "ConnectionsConfirmed"
REVOCATIONS_CONFIRMED = "RevocationsConfirmed"
DENIALS = "Denials"
ZOHO_CONFIRMATION_FAILURES = "ZohoConfirmationFailures"
ZOHO_LATENCY = "ZohoLatency"
RECONCILIATION_GIVE_UPS = "ReconciliationGiveUps"
FLOW_REFUSALS = "FlowRefusals"


class Telemetry(Protocol):
    def count(self, name: str, *, reason: str | None = None) -> None:
        """Add 1 to ``name``; with ``reason``, also to ``name`` split by a ``reason`` dimension."""

    def latency(self, name: str, milliseconds: float) -> None: ...


class EmfTelemetry:
    def __init__(self, service: str = SERVICE) -> None:
        """``service``: the ``service`` dimension (per stage, so two stages in one account stay apart)."""
        self._service = service

    def count(self, name: str, *, reason: str | None = None) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._emit(name, MetricUnit.Count, 1, None)
        if reason is not None:
            self._emit(name, MetricUnit.Count, 1, reason)

    def latency(self, name: str, milliseconds: float) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._emit(name, MetricUnit.Milliseconds, milliseconds, None)

    def _emit(self, name: str, unit: object, value: float, reason: str | None) -> None:
        from aws_lambda_powertools.metrics import single_metric

        with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE, default_dimensions={"service": self._service}) as metric:  # type: ignore[arg-type]
            if reason is not None:
                metric.add_dimension(name="reason", value=reason[:250])


class RecordingTelemetry:
    """Counts in memory: for tests and benchmarks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str | None]] = Counter()
        self.latencies: list[tuple[str, float]] = []

    def count(self, name: str, *, reason: str | None = None) -> None:
        with self._lock:
            self.counts[(name, None)] += 1
            if reason is not None:
                self.counts[(name, reason)] += 1

    def latency(self, name: str, milliseconds: float) -> None:
        with self._lock:
            self.latencies.append((name, milliseconds))
