"""``make run``: start the whole local stack, print the URL to open, stop everything on Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from devstack.stack import LocalStack, Ports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--service-port", type=int, default=8000)
    parser.add_argument("--sandbox-port", type=int, default=9200)
    parser.add_argument("--oidc-port", type=int, default=9400)
    parser.add_argument("--aws-port", type=int, default=5050)
    parser.add_argument("--reconcile-every", type=float, default=60.0, help="seconds between reconciler runs (the deployed schedule is 5 min)")
    parser.add_argument("--log", type=Path, default=Path(".stack/service.log"), help="where chalice local writes (default: %(default)s)")
    args = parser.parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    # The in-process servers (moto, sandbox, provider) would log every request, the sandbox page's
    # once-a-second poll included; the service's own log goes to --log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    stop = threading.Event()
    # Both, explicitly: a shell starts background jobs with SIGINT ignored, and kill sends SIGTERM.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    started = time.monotonic()
    stack = LocalStack(Ports(service=args.service_port, sandbox=args.sandbox_port, oidc=args.oidc_port, aws=args.aws_port), log_path=args.log)
    try:
        stack.start()
    except (OSError, RuntimeError) as exc:
        print(f"The local stack did not start: {exc}", file=sys.stderr)
        return 1
    print(
        f"""
Local stack ready in {time.monotonic() - started:.1f} s.

  Open the Zoho sandbox:  {stack.sandbox_url}/
  (click Connect, sign in as ada@acme.example, Allow; then Revoke)
  open it as 127.0.0.1, not localhost: the service runs on localhost, and two host names make
  the cookies cross-site as between Zoho and a deployed service

  service (chalice local)  {stack.service_url}   log: {args.log}
  OpenID Connect provider  {stack.oidc_url}
  embedded AWS (moto)      {stack.aws_url}   table: {stack.table_name}

Press Ctrl-C to stop everything.""",
        flush=True,
    )
    reconciler = threading.Thread(target=_reconcile_every, args=(stack, stop, args.reconcile_every), daemon=True)
    reconciler.start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping the local stack...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return 0


def _reconcile_every(stack: LocalStack, stop: threading.Event, seconds: float) -> None:
    """What the deployed schedule does, which chalice local does not: confirm what the outbox holds."""
    import os

    os.environ.update({**stack.stage_env, **stack.service_environment()})
    from chalicelib import bootstrap

    while not stop.wait(seconds):
        try:
            report = bootstrap.reconciler().run()
        except Exception as exc:  # the dev loop must outlive a failed run; the next one retries
            print(f"reconciler: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            continue
        if report.due:
            print(f"reconciler: {report.confirmed} confirmed, {report.not_confirmed} not confirmed, {report.skipped} skipped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
