"""Deploy rehearsal, part 2: what ``make deploy`` does, against a moto server instead of an AWS account:
resources stack -> policy rendered from its outputs -> ``chalice deploy --stage <stage>``.

One concession to moto: its ImportRestApi reads only OpenAPI 3 documents with an ``info.description``,
and chalice sends Swagger 2.0 without one, so the chalice run below relabels its document. moto then
creates the REST API without its routes (so nothing here calls the API); the IAM role, its inline
policy and the Lambda function are created exactly as chalice asks AWS to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import Moto
from tests.infra.test_package import pytestmark as needs_wheels
from tools.package_app import copy_project, keep_wheel_cache
from tools.render_policy import render_policy
from tools.resources_stack import TEMPLATE, deploy_stack
from tools.stage_config import ROOT, read_stage

pytestmark = needs_wheels

CHALICE_FOR_MOTO = """
import sys
from chalice.deploy import swagger
from chalice.cli import main

generate = swagger.SwaggerGenerator.generate_swagger

def for_moto(self, app, rest_api=None):
    document = generate(self, app, rest_api)
    document["info"].setdefault("description", app.app_name)
    document.pop("swagger", None)
    document["openapi"] = "3.0.1"
    return document

swagger.SwaggerGenerator.generate_swagger = for_moto
sys.exit(main())
"""


def chalice_deploy(moto: Moto, project: Path, stage: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env = {**clean, **moto.environment(), "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    command = [sys.executable, "-c", CHALICE_FOR_MOTO, "deploy", "--stage", stage]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=240)


@pytest.mark.parametrize("stage_name", ["dev", "prod"])
def test_make_deploy_sequence_against_moto(moto: Moto, tmp_path: Path, stage_name: str) -> None:
    stage = read_stage(stage_name)
    project = tmp_path / "app"
    copy_project(ROOT, project)

    outputs = deploy_stack(
        moto.client("cloudformation"), stage.resources_stack, TEMPLATE.read_text(), {"AppName": stage.app_name, "Stage": stage_name}, poll_seconds=1
    )
    policy = render_policy(outputs, stage)
    (project / ".chalice" / stage.iam_policy_file).write_text(json.dumps(policy, indent=2))

    first = chalice_deploy(moto, project, stage_name)
    keep_wheel_cache(project, ROOT)
    assert first.returncode == 0, first.stdout + first.stderr
    second = chalice_deploy(moto, project, stage_name)  # the update path: a redeploy of the same stage
    assert second.returncode == 0, second.stdout + second.stderr

    deployed = json.loads((project / ".chalice" / "deployed" / f"{stage_name}.json").read_text())
    by_kind: dict[str, list[dict[str, str]]] = {}
    for resource in deployed["resources"]:
        by_kind.setdefault(resource["resource_type"], []).append(resource)
    [rest_api] = by_kind["rest_api"]
    assert rest_api["rest_api_url"].endswith(".execute-api.us-east-1.amazonaws.com/api/")
    functions = {resource["lambda_arn"].rsplit(":", 1)[1] for resource in by_kind["lambda_function"]}
    assert stage.api_function in functions
    assert functions <= {stage.api_function, stage.reconcile_function}

    # One role per function (autogen_policy false), each with the rendered policy and nothing else.
    iam = moto.client("iam")
    roles = [resource["role_name"] for resource in by_kind["iam_role"]]
    assert sorted(roles) == sorted(f"{stage.api_function}-api_handler" if name == stage.api_function else name for name in functions)
    for role in roles:
        assert iam.list_role_policies(RoleName=role)["PolicyNames"] == [role]
        assert iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"] == policy
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []

    for name in functions:
        function = moto.client("lambda").get_function_configuration(FunctionName=name)
        assert function["TracingConfig"] == {"Mode": "Active" if stage.xray else "PassThrough"}
        assert function["Environment"]["Variables"] == dict(stage.environment)
        assert function["Role"].rsplit("/", 1)[1] in roles
    api = moto.client("lambda").get_function_configuration(FunctionName=stage.api_function)
    assert (api["Timeout"], api["MemorySize"], api["Handler"]) == (28, 256, "app.app")
