"""``chalice package`` a stage into ``build/package-<stage>/`` (``sam.json`` + ``deployment.zip``) and
report the deployment package's size against Lambda's limits.

    python -m tools.package_app --stage dev [--out build/package-dev] [--example-policy]

Packaging runs in a scratch copy of what chalice deploys (``app.py``, ``chalicelib/``,
``requirements.txt``, ``.chalice/config.json`` and the stage's policy file), so the working tree
is never touched. The stage's policy is ``.chalice/policy-<stage>.json`` as ``make policy`` rendered
it from the resources stack; without it (or with ``--example-policy``) the example policy for
account 123456789012 stands in, which is good for linting and sizing, not for deploying.
chalice downloads Lambda-compatible (manylinux) wheels from PyPI and caches the result in
``.chalice/deployments/``; the latest one is reused and kept (see ``keep_wheel_cache``).

Then deployment.zip gets bytecode (``tools/bytecode.py``): an unchecked-hash ``.pyc`` next to every
``.py``, compiled by this interpreter, which must be the Python of the template's ``Runtime``.
chalice runs with ``PYTHONDONTWRITEBYTECODE=1``: it imports app.py while packaging, and the timestamp
pycs that import would write into ``chalicelib/`` would otherwise be zipped too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.bytecode import Bytecode, BytecodeError, add_bytecode, template_runtime
from tools.render_policy import example_outputs, render_policy
from tools.stage_config import ROOT, StageConfigError, read_stage

LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024  # direct upload
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")


class PackageError(Exception):
    """chalice package failed; the message carries its output."""


@dataclass(frozen=True)
class Package:
    template: Path
    zip_path: Path
    zip_bytes: int
    unzipped_bytes: int
    example_policy: bool
    runtime: str
    bytecode: Bytecode | None
    """What was compiled into the zip; None when packaged with ``bytecode=False`` (chalice's zip as is)."""

    def summary(self) -> str:
        mib = 1024 * 1024
        policy = " (EXAMPLE policy: for linting only, do not deploy this template)" if self.example_policy else ""
        bytecode = f"\n  {self.bytecode.summary()}" if self.bytecode else "\n  no bytecode (--no-bytecode): chalice's zip as it made it"
        return (
            f"{self.template.parent}: deployment.zip {self.zip_bytes / mib:.1f} MiB (Lambda limit 50), "
            f"unzipped {self.unzipped_bytes / mib:.1f} MiB (limit 250){policy}{bytecode}"
        )


def package(stage_name: str, out_dir: Path, *, example_policy: bool = False, project_dir: Path = ROOT, bytecode: bool = True) -> Package:
    stage = read_stage(stage_name, project_dir)
    policy_file = project_dir / ".chalice" / stage.iam_policy_file
    use_example = example_policy or not policy_file.exists()
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as scratch:
        work = Path(scratch) / "app"
        copy_project(project_dir, work)
        target = work / ".chalice" / stage.iam_policy_file
        if use_example:
            target.write_text(json.dumps(render_policy(example_outputs(stage), stage), indent=2) + "\n")
        else:
            shutil.copy2(policy_file, target)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
        env = {**os.environ, "AWS_DEFAULT_REGION": region, "PYTHONDONTWRITEBYTECODE": "1"}
        chalice = Path(sys.executable).with_name("chalice")
        result = subprocess.run(  # noqa: S603 - fixed command, our own arguments
            [str(chalice), "package", "--stage", stage_name, str(out_dir.resolve())], cwd=work, env=env, capture_output=True, text=True, check=False
        )
        keep_wheel_cache(work, project_dir)
        if result.returncode != 0:
            raise PackageError(f"chalice package failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    zip_path, template = out_dir / "deployment.zip", out_dir / "sam.json"
    runtime = template_runtime(template)
    compiled = add_bytecode(zip_path, zip_path, runtime) if bytecode else None
    with zipfile.ZipFile(zip_path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    return Package(template, zip_path, zip_path.stat().st_size, unzipped, use_example, runtime, compiled)


def copy_project(project_dir: Path, work: Path) -> None:
    (work / ".chalice").mkdir(parents=True)
    shutil.copy2(project_dir / "app.py", work / "app.py")
    shutil.copy2(project_dir / "requirements.txt", work / "requirements.txt")
    shutil.copytree(project_dir / "chalicelib", work / "chalicelib", ignore=_IGNORE)
    if (project_dir / "vendor").is_dir():
        shutil.copytree(project_dir / "vendor", work / "vendor", ignore=_IGNORE)
    shutil.copy2(project_dir / ".chalice" / "config.json", work / ".chalice" / "config.json")
    if (project_dir / ".chalice" / "deployments").is_dir():
        shutil.copytree(project_dir / ".chalice" / "deployments", work / ".chalice" / "deployments")


def keep_wheel_cache(work: Path, project_dir: Path) -> None:
    """Keep the dependency zip chalice just built or reused as the project's only cached one.

    chalice names it after a hash of requirements.txt *and* the app's files, so every code change
    makes a new ~7 MB zip; keeping only the latest bounds the cache to one package per runtime.
    """
    built = sorted((work / ".chalice" / "deployments").glob("*.zip"), key=lambda path: path.stat().st_mtime)
    if not built:
        return
    cache = project_dir / ".chalice" / "deployments"
    cache.mkdir(parents=True, exist_ok=True)
    latest = built[-1]
    for stale in cache.glob("*.zip"):
        if stale.name != latest.name:
            stale.unlink()
    shutil.copy2(latest, cache / latest.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.package_app", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--out", type=Path, help="default build/package-<stage>")
    parser.add_argument("--example-policy", action="store_true", help="package with the example policy (linting, sizing)")
    parser.add_argument("--no-bytecode", action="store_true", help="leave chalice's zip as it is (no .pyc), for comparison")
    args = parser.parse_args(argv)
    try:
        result = package(args.stage, args.out or ROOT / "build" / f"package-{args.stage}", example_policy=args.example_policy, bytecode=not args.no_bytecode)
    except (PackageError, StageConfigError, BytecodeError) as exc:
        print(f"package_app: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    if result.zip_bytes > LAMBDA_ZIP_LIMIT or result.unzipped_bytes > LAMBDA_UNZIPPED_LIMIT:
        print("package_app: the deployment package exceeds a Lambda size limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
