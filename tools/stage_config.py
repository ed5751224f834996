"""A chalice stage's settings from ``.chalice/config.json``, resolved the way chalice resolves them
(stage over top level; per-function ``lambda_functions`` blocks over both)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class StageConfigError(Exception):
    """The stage is missing from, or inconsistent in, .chalice/config.json."""


@dataclass(frozen=True)
class StageConfig:
    app_name: str
    stage: str
    environment: Mapping[str, str]
    """Top-level ``environment_variables`` overlaid with the stage's (what every function gets)."""
    xray: bool
    """Active tracing on for the stage or for any of its functions."""
    iam_policy_file: str
    """The policy file chalice reads, relative to ``.chalice/``."""
    policy_from_file: bool = True
    """chalice manages the role and takes its policy from ``iam_policy_file`` (``autogen_policy`` false)."""

    @property
    def api_function(self) -> str:
        # chalice names the REST API handler <app>-<stage> (no suffix, for backwards compatibility).
        return f"{self.app_name}-{self.stage}"

    @property
    def reconcile_function(self) -> str:
        return f"{self.app_name}-{self.stage}-reconcile"

    @property
    def resources_stack(self) -> str:
        return f"{self.app_name}-{self.stage}-resources"


def load_stage(config: Mapping[str, Any], stage: str) -> StageConfig:
    stages = config.get("stages", {})
    if stage not in stages:
        raise StageConfigError(f"Stage {stage!r} is not in .chalice/config.json (stages: {', '.join(sorted(stages))}).")
    scoped = stages[stage]
    functions = [*config.get("lambda_functions", {}).values(), *scoped.get("lambda_functions", {}).values()]
    return StageConfig(
        app_name=str(config["app_name"]),
        stage=stage,
        environment={**config.get("environment_variables", {}), **scoped.get("environment_variables", {})},
        xray=bool(_lookup(config, scoped, "xray", False)) or any(bool(block.get("xray")) for block in functions),
        iam_policy_file=str(_lookup(config, scoped, "iam_policy_file", f"policy-{stage}.json")),
        policy_from_file=_lookup(config, scoped, "autogen_policy", True) is False and _lookup(config, scoped, "manage_iam_role", True) is not False,
    )


def read_stage(stage: str, project_dir: Path = ROOT) -> StageConfig:
    return load_stage(json.loads((project_dir / ".chalice" / "config.json").read_text()), stage)


def _lookup(config: Mapping[str, Any], scoped: Mapping[str, Any], key: str, default: Any) -> Any:
    if key in scoped:
        return scoped[key]
    return config.get(key, default)
