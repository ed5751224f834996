"""What a cold container loads to serve its first request. The cold start is what a Zoho admin waits
for when the popup opens (docs/performance.md): each module a first request does not need is import
time it should not pay. A fresh interpreter serves one request as Lambda would, with the local
stack behind it, and reports the modules it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from devstack.stack import DUMMY_AWS, LocalStack
from tests.conftest import CONNECTION, ROOT, Installation

FIRST_REQUEST = """
import json, sys
from app import app
from devstack.lambda_events import LambdaContext, event
kind, connection, token = sys.argv[1:4]
reply = app(event("GET", "/connections/{connection}/" + kind, f"/connections/{connection}/{kind}", query={"jwttoken": token},
                  path_params={"connection": connection}, headers={"Referer": "https://books.zoho.com/"}), LambdaContext())
print(json.dumps({"status": reply["statusCode"], "location": reply["headers"].get("Location", ""), "modules": sorted(sys.modules)}))
"""
# Only decisions, sign-in callbacks, pages and the operator's API need these.
NEVER_ON_A_FIRST_GET = {
    "jinja2",  # a Connection or Revoke URL answers a redirect, not a page
    "jwt",  # PyJWT verifies the provider's ID tokens, at the callback
    "cryptography",
    "tenacity",  # retries of the Zoho PUT
    "aws_lambda_powertools",  # EMF metrics: the first one is counted by a decision or a refusal
    "chalicelib.admin",
    "chalicelib.confirmation",
    "chalicelib.events",
    "chalicelib.hooks",
    "chalicelib.reconcile",
    "chalicelib.state",
    "chalicelib.zoho_api",
}
# Zoho's PUT and the code exchange go through requests (the exchange with Authlib); the Connection
# URL's discovery uses the urllib3 that botocore loads anyway, and its redirect the standard library.
NEVER_ON_A_FIRST_GET |= {"requests", "authlib"}
# The Revoke URL calls no one but AWS.
NOT_ON_A_FIRST_REVOKE = {"chalicelib.oidc"}


def _first_request(stack: LocalStack, kind: str, token: str) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **stack.stage_env,
        **stack.service_environment(),
        **DUMMY_AWS,
        "AWS_LAMBDA_FUNCTION_NAME": "zoho-external-connections-dev",
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST, kind, CONNECTION, token], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, Any] = json.loads(run.stdout.splitlines()[-1])
    return result


def _loaded(modules: list[str], names: set[str]) -> list[str]:
    return sorted(name for name in names if name in modules or any(module.startswith(name + ".") for module in modules))


@pytest.mark.parametrize("kind", ["connect", "revoke"])
def test_a_cold_first_request_loads_only_what_it_needs(stack: LocalStack, installation: Installation, kind: str) -> None:
    result = _first_request(stack, kind, installation.token(stack))
    expected_location = f"{stack.oidc_url}/" if kind == "connect" else f"{stack.service_url}/flow"
    assert (result["status"], result["location"].startswith(expected_location)) == (303, True), result["location"]
    assert _loaded(result["modules"], NEVER_ON_A_FIRST_GET) == []
    if kind == "revoke":
        assert _loaded(result["modules"], NOT_ON_A_FIRST_REVOKE) == []
    else:
        assert _loaded(result["modules"], {"chalicelib.oidc"}) == ["chalicelib.oidc"]  # the check sees what a request loads
