"""HTML for the answers API Gateway gives before the app runs (unknown path or method: 403 "Missing
Authentication Token"; throttling; a 5xx of its own), so a person in Zoho's popup never sees JSON.

    python -m tools.gateway_responses --stage dev

Run by ``make deploy`` after ``chalice deploy`` (which creates the REST API, so the resources stack
cannot hold these); it redeploys the API stage so they take effect. Idempotent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from tools.stage_config import ROOT

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>body{{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1d2433;background:#f5f7fb}}
main{{max-width:480px;margin:40px auto;padding:28px;background:#fff;border:1px solid #e3e7ef;border-radius:12px}}h1{{font-size:21px;margin:0 0 12px}}</style>
</head><body><main><h1>{title}</h1><p>{sentence}</p></main></body></html>"""

# responseType -> (status, title, sentence)
RESPONSES: dict[str, tuple[str, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "Page not found", "This address is not part of the service. Open it from Zoho's Connect or Revoke button."),
    "DEFAULT_4XX": ("400", "The request could not be processed", "Go back to Zoho and click the button again."),
    "DEFAULT_5XX": ("503", "Temporarily unavailable", "The service is temporarily unavailable. Please try again in a minute."),
    "THROTTLED": ("429", "Too many requests", "Please wait a moment and try again."),
}
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
}


def rest_api_id(deployed: dict[str, Any]) -> str | None:
    for resource in deployed.get("resources", []):
        if isinstance(resource, dict) and resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_id"])
    return None


def apply(client: Any, api_id: str, stage_name: str) -> list[str]:
    """Put every gateway response (an HTML body whatever the caller accepts), then redeploy the stage."""
    parameters = {f"gatewayresponse.header.{name}": f"'{value}'" for name, value in HEADERS.items()}
    for response_type, (status, title, sentence) in RESPONSES.items():
        body = PAGE.format(title=title, sentence=sentence)
        client.put_gateway_response(
            restApiId=api_id,
            responseType=response_type,
            statusCode=status,
            responseParameters=parameters,
            responseTemplates={"application/json": body, "text/html": body},
        )
    client.create_deployment(restApiId=api_id, stageName=stage_name, description="HTML gateway responses")
    return sorted(RESPONSES)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gateway_responses", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    record = ROOT / ".chalice" / "deployed" / f"{args.stage}.json"
    if not record.exists():
        print(f"gateway_responses: stage {args.stage} is not deployed from this checkout ({record} is missing).", file=sys.stderr)
        return 2
    api_id = rest_api_id(json.loads(record.read_text()))
    if api_id is None:
        print(f"gateway_responses: {record} names no REST API.", file=sys.stderr)
        return 2
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage_name = config["stages"][args.stage].get("api_gateway_stage", config.get("api_gateway_stage", "api"))
    import boto3

    applied = apply(boto3.client("apigateway"), api_id, stage_name)
    print(f"gateway responses set on {api_id} ({stage_name}): {', '.join(applied)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
