"""Print what to paste into Zoho Sigma and into the OpenID Connect provider for a deployed stage.

    python -m tools.sigma_urls --stage dev

The base URL is PUBLIC_BASE_URL when the stage sets it (custom domain), else the execute-api URL
``chalice deploy`` recorded in ``.chalice/deployed/<stage>.json`` (it ends with the API Gateway stage,
``/api``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.stage_config import ROOT, StageConfig, StageConfigError, read_stage


def base_url(stage: StageConfig, deployed: Mapping[str, Any] | None) -> str | None:
    public = stage.environment.get("PUBLIC_BASE_URL", "").strip()
    if public:
        return public.rstrip("/")
    for resource in (deployed or {}).get("resources", []):
        if isinstance(resource, dict) and resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_url"]).rstrip("/")
    return None


def urls(base: str, stage: StageConfig) -> list[tuple[str, str]]:
    names = [name.strip() for name in stage.environment.get("CONNECTION_API_NAMES", "").split(",") if name.strip()]
    rows = [("Health check", f"{base}/health"), ("OpenID Connect redirect URI", f"{base}/auth/callback")]
    for name in names or ["<connection api name>"]:
        rows.append((f"{name}: Connection URL", f"{base}/connections/{name}/connect"))
        rows.append((f"{name}: Revoke URL", f"{base}/connections/{name}/revoke"))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.sigma_urls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    try:
        stage = read_stage(args.stage)
    except StageConfigError as exc:
        print(f"sigma_urls: {exc}", file=sys.stderr)
        return 2
    record = ROOT / ".chalice" / "deployed" / f"{args.stage}.json"
    base = base_url(stage, json.loads(record.read_text()) if record.exists() else None)
    if base is None:
        print(f"sigma_urls: stage {args.stage} is not deployed from this checkout ({Path(record).relative_to(ROOT)} is missing).", file=sys.stderr)
        return 2
    for label, url in urls(base, stage):
        print(f"{label:<45} {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
