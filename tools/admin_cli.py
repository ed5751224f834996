"""Operator CLI over the same functions as the admin API, run with your own AWS credentials.

    .venv/bin/python -m tools.admin_cli --stage prod list
    .venv/bin/python -m tools.admin_cli --stage prod show 60012345678 ec__com_acme
    .venv/bin/python -m tools.admin_cli --stage prod retry 60012345678 ec__com_acme
    .venv/bin/python -m tools.admin_cli --stage prod revoke 60012345678 ec__com_acme
    .venv/bin/python -m tools.admin_cli --stage prod reconcile

The stage's environment comes from .chalice/config.json; AWS credentials and region from the usual
places (AWS_PROFILE, AWS_REGION, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.admin_cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True, help="a stage of .chalice/config.json (dev, prod, local)")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list connections")
    listing.add_argument("--limit", default="50")
    listing.add_argument("--after", default=None, help="the 'next' cursor of the previous page")
    for name, text in (("show", "a connection and its audit trail"), ("retry", "confirm a pending or given-up decision now"), ("revoke", "force a revoke")):
        command = commands.add_parser(name, help=text)
        command.add_argument("organization_id")
        command.add_argument("connection")
    commands.add_parser("reconcile", help="run the reconciler once")
    args = parser.parse_args(argv)

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    if args.stage not in config["stages"]:
        parser.error(f"unknown stage {args.stage!r}; .chalice/config.json has {', '.join(config['stages'])}")
    os.environ.update({key: value for key, value in config["stages"][args.stage].get("environment_variables", {}).items() if key not in os.environ})

    from chalicelib import admin, bootstrap
    from chalicelib.config import ConfigError
    from chalicelib.errors import FlowError

    try:
        flows = bootstrap.flows()
        result: Any
        if args.command == "list":
            result = admin.list_connections(flows, limit=args.limit, after=args.after)
        elif args.command == "show":
            result = admin.show_connection(flows, args.organization_id, args.connection)
        elif args.command == "retry":
            result = admin.retry(flows, args.organization_id, args.connection)
        elif args.command == "revoke":
            result = admin.force_revoke(flows, args.organization_id, args.connection)
        else:
            result = vars(bootstrap.reconciler().run())
    except (FlowError, ConfigError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
