"""Check a stage's ``environment_variables`` the way the service will at cold start.

    python -m tools.check_config --stage prod [--strict]

Without ``--strict`` a problem is a warning (a first ``dev`` deploy is how you learn the API's URL,
which the OpenID Connect provider and Zoho Sigma need before the rest can be filled in); with it,
a non-zero exit (``make deploy-prod``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from chalicelib.config import ConfigError, Settings
from tools.stage_config import StageConfig, StageConfigError, read_stage


def problem(stage: StageConfig) -> str | None:
    """The service's own complaint about the stage's settings, or None when it would start."""
    try:
        Settings.from_environ(stage.environment)
    except ConfigError as exc:
        return str(exc)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.check_config", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--strict", action="store_true", help="fail instead of warning")
    args = parser.parse_args(argv)
    try:
        found = problem(read_stage(args.stage))
    except StageConfigError as exc:
        print(f"check_config: {exc}", file=sys.stderr)
        return 2
    if found is None:
        print(f"Stage {args.stage}: configuration OK.")
        return 0
    print(f"Stage {args.stage}: {found}", file=sys.stderr)
    if args.strict:
        return 1
    print("  (warning only: the service will answer 503 on /health until this is fixed; see docs/configuration.md)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
