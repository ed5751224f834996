"""The bench's local stack in its own process, so the orchestrator stays small (a child's
``ru_maxrss`` starts at its parent's resident size when it is spawned: a big parent would inflate
every child's peak). Starts moto server (``devstack.aws_server``, its own process), creates the table
from infra/resources.yaml with ``devstack.stack.create_resources`` and the two secrets, the Zoho
sandbox and the development OpenID Connect provider, all on 127.0.0.1; prints one ``BENCH {json}``
line with the URLs and the environment the service needs; stops everything when stdin closes."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    import secrets
    import time

    from devstack.stack import DUMMY_AWS, LocalStack
    from devstack.zoho_jwt import mint_zoho_token

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 32

    stack = LocalStack().start(with_service=False)
    try:
        environment = {**stack.stage_env, **stack.service_environment(), **DUMMY_AWS, "AWS_LAMBDA_FUNCTION_NAME": "zoho-external-connections-dev"}
        info = {
            "aws_url": stack.aws_url,
            "sandbox_url": stack.sandbox_url,
            "oidc_url": stack.oidc_url,
            "service_url": stack.service_url,
            "table": stack.table_name,
            "secret_key": stack.extension_secret_key,
            "environment": environment,
            "pid": os.getpid(),
            # Valid Zoho tokens (one hour), one organization each, for the cold-start children.
            "tokens": [
                mint_zoho_token(
                    stack.extension_secret_key,
                    organization_id=f"300{secrets.randbelow(10**9):09d}",
                    organization_name="Zylker Industries",
                    user_id="4000000012345",
                    now_ms=int(time.time() * 1000),
                )
                for _ in range(count)
            ],
        }
        print("BENCH " + json.dumps(info), flush=True)
        sys.stdin.read()  # until the orchestrator closes our stdin (or dies)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
