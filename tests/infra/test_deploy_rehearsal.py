"""Deploy rehearsal, part 2: what ``make deploy`` does, against a moto server instead of an AWS account:
resources stack -> policy rendered from its outputs -> ``tools.deploy_app`` (``chalice deploy --stage
<stage>`` of the package with bytecode).

One concession to moto: its ImportRestApi reads only OpenAPI 3 documents with an ``info.description``,
and chalice sends Swagger 2.0 without one, so the chalice run below relabels its document. moto then
creates the REST API without its routes (so nothing here calls the API); the IAM role, its inline
policy and the Lambda function are created exactly as chalice asks AWS to."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import Moto
from tests.infra.test_package import pytestmark as needs_wheels
from tests.infra.zip_bytecode import inspect_zip, own_code
from tools.deploy_app import DeployError, Deployment, code_sha256, deploy
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


# A chalice that does not find the package put where it looks (as if a release changed the name).
CHALICE_BUILDING_ITS_OWN = (
    """
import glob, os
for cached in glob.glob(os.path.join(".chalice", "deployments", "*.zip")):
    os.remove(cached)
"""
    + CHALICE_FOR_MOTO
)


def deploy_to_moto(moto: Moto, project: Path, stage: str, chalice: str = CHALICE_FOR_MOTO) -> Deployment:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env = {**clean, **moto.environment(), "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    return deploy(stage, project_dir=project, chalice_command=[sys.executable, "-c", chalice], env=env, lambda_client=moto.client("lambda"))


def deploy_resources(moto: Moto, project: Path, stage_name: str) -> dict[str, object]:
    """The resources stack, and the stage's policy rendered from its outputs into the project."""
    stage = read_stage(stage_name)
    outputs = deploy_stack(
        moto.client("cloudformation"), stage.resources_stack, TEMPLATE.read_text(), {"AppName": stage.app_name, "Stage": stage_name}, poll_seconds=1
    )
    policy = render_policy(outputs, stage)
    (project / ".chalice" / stage.iam_policy_file).write_text(json.dumps(policy, indent=2))
    return policy


@pytest.mark.parametrize("stage_name", ["dev", "prod"])
def test_make_deploy_sequence_against_moto(moto: Moto, tmp_path: Path, stage_name: str) -> None:
    stage = read_stage(stage_name)
    project = tmp_path / "app"
    copy_project(ROOT, project)
    policy = deploy_resources(moto, project, stage_name)

    # What a working tree has after tests ran: timestamp bytecode that must not be deployed.
    (project / "chalicelib" / "__pycache__").mkdir()
    (project / "chalicelib" / "__pycache__" / "flow.cpython-311.pyc").write_bytes(b"stale bytecode of the working tree")

    first = deploy_to_moto(moto, project, stage_name)
    keep_wheel_cache(project, ROOT)
    second = deploy_to_moto(moto, project, stage_name)  # the update path: a redeploy of the same stage
    assert second.code_sha256 == first.code_sha256 == code_sha256(first.zip_path)  # the same code packages to the same bytes

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

    # Each function runs the package with bytecode, byte for byte (moto's Code.Location is not a URL
    # it serves; CodeSha256 and CodeSize are computed from the bytes chalice uploaded).
    assert sorted(arn.rsplit(":", 1)[1] for arn in second.functions) == sorted(functions)
    for name in functions:
        code = moto.client("lambda").get_function(FunctionName=name)["Configuration"]
        assert (code["CodeSha256"], code["CodeSize"]) == (first.code_sha256, first.zip_path.stat().st_size)
    found = inspect_zip(first.zip_path)
    assert found.without_pyc == sorted(first.bytecode.skipped)
    assert own_code(found.without_pyc) == []
    assert (found.bad, found.stray, first.bytecode.dropped) == ([], [], ())
    assert first.bytecode.compiled == len(found.sources) - len(found.without_pyc)


def test_a_deploy_that_did_not_ship_the_package_with_bytecode_fails(moto: Moto, tmp_path: Path) -> None:
    project = tmp_path / "app"
    copy_project(ROOT, project)
    deploy_resources(moto, project, "dev")
    with pytest.raises(DeployError, match=r"deployed, but not with .*/deployment\.zip .*zoho-external-connections-dev.* run other code, without bytecode"):
        deploy_to_moto(moto, project, "dev", chalice=CHALICE_BUILDING_ITS_OWN)
