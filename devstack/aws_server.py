"""The embedded AWS: moto's server, one request at a time.

moto's DynamoDB snapshots a table before a transaction and restores the snapshot when the transaction
fails, without a lock: with concurrent requests, one transaction's rollback erases another's committed
write, which real DynamoDB never does. Serving requests one at a time keeps every operation atomic, as
the service relies on (conditional writes and transactions), at no cost that matters on one machine.

    python -m devstack.aws_server --port 5050
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from moto.moto_server.threaded_moto_server import DomainDispatcherApplication
from moto.server import create_backend_app
from werkzeug.serving import make_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.aws_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds some URLs (e.g. queue URLs) with it
    server = make_server(args.host, args.port, DomainDispatcherApplication(create_backend_app), threaded=False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
