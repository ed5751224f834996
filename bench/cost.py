"""Cost per million flows at AWS list prices, from the measured durations, the stage's memory size
and the counted calls. Prices: us-east-1, on-demand, x86_64, as listed on the AWS pricing pages in
2025 (Lambda bills the INIT phase of ZIP functions on managed runtimes since 1 August 2025)."""

from __future__ import annotations

import math
from typing import Any

REGION = "us-east-1"
PRICES = {
    "lambda_gb_second": 0.0000166667,  # USD per GB-second, x86_64, first 6 billion GB-s / month
    "lambda_request": 0.20 / 1e6,  # USD per invocation
    "apigw_rest_request": 3.50 / 1e6,  # USD per REST API request, first 333 million / month
    "dynamodb_wru": 0.625 / 1e6,  # USD per on-demand write request unit (since 1 November 2024)
    "dynamodb_rru": 0.125 / 1e6,  # USD per on-demand read request unit
    "secretsmanager_call": 0.05 / 1e4,  # USD per API call ($0.05 per 10,000)
    "logs_ingest_gb": 0.50,  # USD per GB of CloudWatch Logs (standard) ingested: the JSON logs and EMF metrics
}


def flow_cost(steps: list[dict[str, Any]], memory_mb: int, init_ms: float = 0.0) -> dict[str, float]:
    """USD for one flow; ``steps``: one dict per request with ``ms``, ``rru``, ``wru``,
    ``secretsmanager`` (calls) and ``log_bytes``; ``init_ms``: a billed INIT phase (cold container)."""
    gb = memory_mb / 1024
    billed_ms = sum(math.ceil(step["ms"]) for step in steps) + math.ceil(init_ms)
    parts = {
        "lambda_compute": billed_ms / 1000 * gb * PRICES["lambda_gb_second"],
        "lambda_requests": len(steps) * PRICES["lambda_request"],
        "api_gateway": len(steps) * PRICES["apigw_rest_request"],
        "dynamodb": sum(step["rru"] for step in steps) * PRICES["dynamodb_rru"] + sum(step["wru"] for step in steps) * PRICES["dynamodb_wru"],
        "secrets_manager": sum(step["secretsmanager"] for step in steps) * PRICES["secretsmanager_call"],
        "cloudwatch_logs": sum(step["log_bytes"] for step in steps) / 1e9 * PRICES["logs_ingest_gb"],
    }
    parts["total"] = sum(parts.values())
    parts["billed_ms"] = billed_ms
    return parts


def per_million(cost: dict[str, float]) -> dict[str, float]:
    return {name: (value * 1e6 if name != "billed_ms" else value) for name, value in cost.items()}
