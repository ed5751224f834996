"""``chalice package`` output: lint-clean under cfn-lint, within Lambda's size limits, carrying the
stage's rendered policy (not a generated one), and with bytecode the app loads from a read-only
directory. Skipped only when the package index is unreachable."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.infra.zip_bytecode import inspect_zip, own_code
from tools.bytecode import interpreter_runtime
from tools.package_app import LAMBDA_UNZIPPED_LIMIT, LAMBDA_ZIP_LIMIT, Package, package
from tools.render_policy import example_outputs, render_policy
from tools.stage_config import ROOT, read_stage


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


def test_every_source_in_the_package_has_its_unchecked_hash_bytecode(packaged: tuple[str, Package]) -> None:
    _, result = packaged
    assert result.runtime == interpreter_runtime()
    assert result.bytecode is not None
    found = inspect_zip(result.zip_path)
    assert found.without_pyc == sorted(result.bytecode.skipped)
    assert own_code(found.without_pyc) == []
    assert result.bytecode.compiled == len(found.sources) - len(found.without_pyc)
    assert found.bad == []
    assert found.stray == []
    # chalice ran without writing bytecode: no timestamp pycs of its own import of app.py were zipped.
    assert result.bytecode.dropped == ()
    ours = sorted(str(path.relative_to(ROOT)) for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")])
    assert own_code(found.sources) == ours


# A Lambda cold start in miniature: the package's directory first on sys.path, the venv (boto3, which
# the Lambda runtime provides) behind it; then what the first requests import lazily. The finder only
# records which modules were found in the package (imports that fail, like urllib3's optional
# pyOpenSSL support, leave no trace in sys.modules).
IMPORT_AS_LAMBDA = """
import importlib, importlib.machinery, json, sys
task = sys.argv[1]
sys.path.insert(0, task)
found = []
class Record:
    @staticmethod
    def find_spec(name, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and (spec.origin or "").startswith(task + "/"):
            found.append(spec.origin)
        return spec
sys.meta_path.insert(sys.meta_path.index(importlib.machinery.PathFinder), Record)
import app
for name in sys.argv[2:]:
    importlib.import_module(name)
import chalice
print(json.dumps({"chalice": chalice.__file__, "found": found, "modules": sorted({m.__file__ for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").startswith(task + "/")})}))
"""
# Imported on first use by the flows (sign-in, pages, Zoho calls, secrets, logs): every dependency in
# requirements.txt is reached from one of these.
LAZY_IMPORTS = (
    "jinja2",
    "requests",
    "tenacity",
    "jwt.algorithms",
    "authlib.integrations.requests_client",
    "aws_lambda_powertools.metrics",
    "pythonjsonlogger.json",
    "cachetools",
)
CODE_OBJECT = re.compile(r"^# code object from (?:'(.+)'|(.+))$", re.MULTILINE)


def test_the_app_loads_every_module_of_the_package_from_its_bytecode(packaged: tuple[str, Package], tmp_path: Path) -> None:
    stage_name, result = packaged
    task, cwd = tmp_path / "task", tmp_path / "cwd"
    cwd.mkdir()
    with zipfile.ZipFile(result.zip_path) as archive:
        archive.extractall(task)
        own_sources = [name for name in own_code(archive.namelist()) if name.endswith(".py")]
    own_modules = [name.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for name in own_sources]
    files_before = sorted(path for path in task.rglob("*"))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **read_stage(stage_name).environment,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only; the chmod below does not stop root
    }
    _set_writable(task, False)
    try:
        run = subprocess.run(
            [sys.executable, "-v", "-c", IMPORT_AS_LAMBDA, str(task), *LAZY_IMPORTS, *own_modules],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        _set_writable(task, True)
    assert run.returncode == 0, run.stderr[-3000:]
    loaded = json.loads(run.stdout.splitlines()[-1])
    code_from = [quoted or bare for quoted, bare in CODE_OBJECT.findall(run.stderr)]
    from_task = [path for path in code_from if path.startswith(f"{task}/")]
    # python -v says where each module's code came from: its pyc ('...pyc'), or a compile of its source.
    assert [path for path in from_task if not path.endswith(".pyc")] == []
    assert sorted(importlib.util.source_from_cache(path) for path in from_task) == sorted(path for path in loaded["found"] if path.endswith(".py"))
    assert {path for path in loaded["modules"] if path.endswith(".py")} <= {path for path in loaded["found"]}
    assert loaded["chalice"] == f"{task}/chalice/__init__.py"  # the chalice runtime the package carries, not the venv's
    assert sorted({path for path in loaded["modules"] if own_code([path.removeprefix(f"{task}/")])}) == sorted(f"{task}/{name}" for name in own_sources)
    assert sorted(path for path in task.rglob("*")) == files_before


def _set_writable(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755 if writable else 0o555)
        else:
            path.chmod(0o644 if writable else 0o444)
