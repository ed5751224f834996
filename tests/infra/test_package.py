"""``chalice package`` output: lint-clean under cfn-lint, within Lambda's size limits, and carrying the
stage's rendered policy (not a generated one). Skipped only when the package index is unreachable."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tools.package_app import LAMBDA_UNZIPPED_LIMIT, LAMBDA_ZIP_LIMIT, Package, package
from tools.render_policy import example_outputs, render_policy
from tools.stage_config import read_stage


def _can_package() -> bool:
    """chalice package runs ``pip download`` for Lambda's platform: it needs the package index (its
    cache in .chalice/deployments/ is keyed on the app's code too, so it rarely spares the download)."""
    if os.environ.get("PIP_INDEX_URL"):
        return True
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _can_package(), reason="chalice package needs PyPI (pypi.org unreachable, no PIP_INDEX_URL)")


@pytest.fixture(scope="module", params=["dev", "prod"])
def packaged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Package]:
    stage = str(request.param)
    return stage, package(stage, tmp_path_factory.mktemp(f"package-{stage}"), example_policy=True)


def test_packaged_template_is_cfn_lint_clean(packaged: tuple[str, Package]) -> None:
    _, result = packaged
    lint = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(result.template)], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_deployment_package_fits_lambda(packaged: tuple[str, Package]) -> None:
    _, result = packaged
    assert result.zip_bytes < LAMBDA_ZIP_LIMIT
    assert result.unzipped_bytes < LAMBDA_UNZIPPED_LIMIT


def test_every_role_carries_the_rendered_policy_and_tracing_follows_the_stage(packaged: tuple[str, Package]) -> None:
    stage_name, result = packaged
    stage = read_stage(stage_name)
    template = json.loads(result.template.read_text())
    roles = {name: body for name, body in template["Resources"].items() if body["Type"] == "AWS::IAM::Role"}
    assert roles, "chalice generated no role"
    for body in roles.values():
        assert [p["PolicyDocument"] for p in body["Properties"]["Policies"]] == [render_policy(example_outputs(stage), stage)]
    functions = [body for body in template["Resources"].values() if body["Type"] == "AWS::Serverless::Function"]
    assert {f["Properties"]["Tracing"] for f in functions} == {"Active" if stage.xray else "PassThrough"}
    assert all(f["Properties"]["Environment"]["Variables"] == dict(stage.environment) for f in functions)
