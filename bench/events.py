"""API Gateway (REST, proxy) events and a Lambda context, as the Lambda runtime hands them to a
Chalice app. Standard library only: the cold-start children import this after their clock starts,
the app's and the floor's alike."""

from __future__ import annotations

import uuid
from typing import Any

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
STAGE = "api"


class LambdaContext:
    """What Chalice reads from the Lambda context (the runtime builds it before calling the handler)."""

    def __init__(self, function_name: str = "zoho-external-connections-dev", memory_mb: int = 256) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 28_000


def event(
    method: str,
    route: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    host: str = HOST,
    stage: str = STAGE,
) -> dict[str, Any]:
    """A REST API proxy event for ``route`` (the resource, e.g. ``/connections/{connection}/revoke``)."""
    all_headers = {"Host": host, "X-Forwarded-Proto": "https", **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return {
        "resource": route,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "domainName": host,
            "requestId": str(uuid.uuid4()),
        },
        "body": body,
        "isBase64Encoded": False,
    }


def report(started: float, imported: float, answered: float, cpu_started: float, reply: dict[str, Any]) -> None:
    """Print one cold-start measurement as the orchestrator reads it (a ``BENCH {json}`` line)."""
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
    }
    print("BENCH " + json.dumps(result), flush=True)
