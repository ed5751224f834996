"""API Gateway (REST, proxy) events and a Lambda context, as the Lambda runtime hands them to a
Chalice app: for invoking the app as deployed (tests of stage prefixes and custom domains, the
benchmark). Standard library only: the benchmark's cold-start children import this after their clock
starts."""

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
    prefix: str | None = None,
) -> dict[str, Any]:
    """A REST API proxy event for ``route`` (the resource, e.g. ``/connections/{connection}/revoke``).

    ``prefix``: what precedes ``path`` in the browser's URL: ``/<stage>`` on an execute-api host
    (the default), a base path mapping or nothing behind a custom domain."""
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
            "path": f"{f'/{stage}' if prefix is None else prefix}{path}",
            "stage": stage,
            "domainName": host,
            "requestId": str(uuid.uuid4()),
        },
        "body": body,
        "isBase64Encoded": False,
    }
