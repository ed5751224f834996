"""``chalice deploy`` a stage with bytecode in its deployment package: the ``make deploy`` step.

    python -m tools.deploy_app --stage dev

``chalice deploy`` builds and uploads a zip of its own, without bytecode (and, when run in the working
tree, with whatever timestamp pycs ``chalicelib/__pycache__`` holds, including those its own import of
app.py writes). chalice reuses a package it finds at the file name its packager computes from the
project's files (``LambdaDeploymentPackager.deployment_package_filename``: a hash of
requirements.txt, app.py, chalicelib/ and vendor/), so this puts ours there first:

1. ``tools.package_app`` packages the stage (its real policy) into ``build/deploy-<stage>/``: chalice
   package, then an unchecked-hash pyc for every ``.py`` (``tools/bytecode.py``).
2. A scratch copy of the project without any ``__pycache__`` gets that zip at the name chalice computes
   for it; its ``.chalice/deployed`` is a link to the project's, so chalice reads and writes the
   project's deployment record (``.chalice/deployed/<stage>.json``) directly.
3. ``chalice deploy --stage <stage>`` runs in the copy with ``PYTHONDONTWRITEBYTECODE=1`` (pycs written
   by its import of app.py would change the hash), finds the zip and uploads it as it is.
4. Every function in the deployment record is checked: its ``CodeSha256`` must be the zip's. If a
   chalice release stops reusing packages this way, the deploy still works but fails here, loudly.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.bytecode import Bytecode, BytecodeError
from tools.package_app import PackageError, copy_project, package
from tools.stage_config import ROOT, StageConfigError, read_stage


class DeployError(Exception):
    """The stage was not deployed, or not with the package built for it."""


@dataclass(frozen=True)
class Deployment:
    zip_path: Path
    code_sha256: str
    """Base64 SHA-256 of the zip, as Lambda reports ``CodeSha256``."""
    functions: tuple[str, ...]
    bytecode: Bytecode


def chalice_package_filename(project_dir: Path, stage_name: str, runtime: str) -> Path:
    """Where ``chalice deploy`` looks for an existing deployment package of ``project_dir``."""
    from chalice.config import Config
    from chalice.deploy.packager import DependencyBuilder, LambdaDeploymentPackager
    from chalice.utils import UI, OSUtils

    config = Config(chalice_stage=stage_name, config_from_disk=json.loads((project_dir / ".chalice" / "config.json").read_text()))
    if config.automatic_layer:
        raise DeployError("automatic_layer is set: chalice would split the package into a layer; this tool handles one package per function")
    osutils = OSUtils()
    packager = LambdaDeploymentPackager(osutils, DependencyBuilder(osutils), UI(), architecture=config.lambda_architecture)
    return Path(packager.deployment_package_filename(str(project_dir), runtime))


def code_sha256(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def deploy(
    stage_name: str,
    *,
    project_dir: Path = ROOT,
    out_dir: Path | None = None,
    chalice_command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    lambda_client: Any = None,
) -> Deployment:
    """Package ``stage_name`` with bytecode and ``chalice deploy`` exactly that package.

    ``chalice_command`` replaces the chalice executable (the moto rehearsal wraps it), ``env`` the
    environment chalice runs in, ``lambda_client`` the client that checks the functions' code.
    """
    stage = read_stage(stage_name, project_dir)
    policy = project_dir / ".chalice" / stage.iam_policy_file
    if stage.policy_from_file and not policy.exists():
        raise DeployError(f"{policy} is missing: `make policy STAGE={stage_name}` renders it from the resources stack")
    built = package(stage_name, out_dir or project_dir / "build" / f"deploy-{stage_name}", project_dir=project_dir)
    assert built.bytecode is not None
    deployed_dir = project_dir / ".chalice" / "deployed"
    deployed_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chalice-deploy-") as scratch:
        work = Path(scratch) / "app"
        copy_project(project_dir, work)
        if policy.exists():
            shutil.copy2(policy, work / ".chalice" / stage.iam_policy_file)
        (work / ".chalice" / "deployed").symlink_to(deployed_dir.resolve(), target_is_directory=True)
        target = chalice_package_filename(work, stage_name, built.runtime)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built.zip_path, target)
        command = [*(chalice_command or [str(Path(sys.executable).with_name("chalice"))]), "deploy", "--stage", stage_name]
        sys.stdout.flush()
        result = subprocess.run(command, cwd=work, env={**(os.environ if env is None else env), "PYTHONDONTWRITEBYTECODE": "1"}, check=False)  # noqa: S603
        if result.returncode != 0:
            raise DeployError(f"chalice deploy failed (exit {result.returncode}; its output is above)")
    expected = code_sha256(built.zip_path)
    functions = deployed_functions(deployed_dir / f"{stage_name}.json")
    client = lambda_client or _lambda_client(functions)
    wrong = {arn: sha for arn in functions if (sha := client.get_function_configuration(FunctionName=arn)["CodeSha256"]) != expected}
    if wrong:
        raise DeployError(
            f"deployed, but not with {built.zip_path} (CodeSha256 {expected}): {', '.join(sorted(wrong))} run other code, without "
            "bytecode. chalice built its own package instead of reusing ours; see tools/deploy_app.py"
        )
    return Deployment(built.zip_path, expected, tuple(sorted(functions)), built.bytecode)


def deployed_functions(record: Path) -> list[str]:
    """The ARNs of the Lambda functions in chalice's deployment record."""
    resources = json.loads(record.read_text())["resources"]
    return [resource["lambda_arn"] for resource in resources if resource["resource_type"] == "lambda_function"]


def _lambda_client(functions: Sequence[str]) -> Any:
    import boto3

    region = functions[0].split(":")[3] if functions else None
    return boto3.client("lambda", region_name=region)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.deploy_app", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    try:
        result = deploy(args.stage)
    except (DeployError, PackageError, StageConfigError, BytecodeError) as exc:
        print(f"deploy_app: {exc}", file=sys.stderr)
        return 2
    print(f"deploy_app: {', '.join(name.rsplit(':', 1)[1] for name in result.functions)} run {result.zip_path} (CodeSha256 {result.code_sha256})")
    print(f"deploy_app: {result.bytecode.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
