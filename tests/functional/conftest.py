"""Prints the page times the reliability tests measured, for the notes (not asserted on)."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.functional.test_reliability import TIMINGS

    if TIMINGS:
        terminalreporter.section("page times under Zoho and AWS faults")
        for name, seconds in TIMINGS:
            terminalreporter.write_line(f"{name:52s} {seconds:6.2f} s")
