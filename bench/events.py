"""What the benchmark's processes share: the Lambda-style invocation (from devstack), the cold-start
request, and the line a cold-start child reports."""

from __future__ import annotations

from typing import Any

from devstack.lambda_events import LambdaContext, event

__all__ = ["LambdaContext", "event", "first_request", "report"]


def first_request(connection: str, token: str, referer: str = "https://books.zoho.com/", kind: str = "revoke") -> dict[str, Any]:
    """The cold start's first request, the same for the service and the floor: the Connection URL
    (``kind="connect"``) or the Revoke URL."""
    return event(
        "GET",
        f"/connections/{{connection}}/{kind}",
        f"/connections/{connection}/{kind}",
        query={"jwttoken": token},
        path_params={"connection": connection},
        headers={"Referer": referer},
    )


def report(started: float, imported: float, answered: float, cpu_started: float, reply: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Print one cold-start measurement as the orchestrator reads it (a ``BENCH {json}`` line), with ``extra``."""
    import json
    import resource
    import sys
    import time

    result = {
        "import_ms": (imported - started) * 1000,
        "first_request_ms": (answered - imported) * 1000,
        "total_ms": (answered - started) * 1000,
        "cpu_ms": (time.process_time() - cpu_started) * 1000,
        "status": reply["statusCode"],
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "modules": len(sys.modules),
        **(extra or {}),
    }
    print("BENCH " + json.dumps(result), flush=True)
