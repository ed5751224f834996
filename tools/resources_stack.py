"""Create or update a stage's resources stack from ``infra/resources.yaml`` and print its outputs.

    python -m tools.resources_stack --stage dev [--param AlarmEmail=ops@example.com] [--region eu-west-1]

The stack is ``<app>-<stage>-resources``; ``AppName`` and ``Stage`` are passed for you. On an update,
parameters you do not pass keep their previous values (as ``aws cloudformation deploy`` does), so an
alarm e-mail given once is not dropped by the next ``make deploy``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.stage_config import ROOT, StageConfigError, read_stage

TEMPLATE = ROOT / "infra" / "resources.yaml"
_FAILED = ("CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED")


class StackError(Exception):
    """The stack could not be read, created or updated; the message says why."""


def cloudformation_client(region: str | None = None) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session(region_name=region).client("cloudformation")
    except BotoCoreError as exc:  # no region configured, unknown profile...
        raise StackError(f"{exc} (set AWS_REGION / AWS_PROFILE, or pass --region)") from exc


def deploy_stack(
    cloudformation: Any,
    stack_name: str,
    template_body: str,
    parameters: Mapping[str, str],
    *,
    termination_protection: bool = False,
    poll_seconds: int = 5,
) -> dict[str, str]:
    """Create the stack, or update it in place; wait until done; return its outputs."""
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError

    current = _describe(cloudformation, stack_name)
    if current is not None and current["StackStatus"] == "ROLLBACK_COMPLETE":
        raise StackError(f"Stack {stack_name} failed to create earlier (ROLLBACK_COMPLETE): delete it, then deploy again.")
    given = [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()]
    waiter_config = {"Delay": poll_seconds, "MaxAttempts": max(1, 3600 // poll_seconds)}
    try:
        if current is None:
            cloudformation.create_stack(StackName=stack_name, TemplateBody=template_body, Parameters=given, EnableTerminationProtection=termination_protection)
            cloudformation.get_waiter("stack_create_complete").wait(StackName=stack_name, WaiterConfig=waiter_config)
        else:
            kept = kept_parameters(current.get("Parameters", []), parameters, _template_defaults(cloudformation, template_body))
            try:
                cloudformation.update_stack(StackName=stack_name, TemplateBody=template_body, Parameters=given + kept)
            except ClientError as exc:
                if "No updates are to be performed" not in str(exc):
                    raise
            else:
                cloudformation.get_waiter("stack_update_complete").wait(StackName=stack_name, WaiterConfig=waiter_config)
            if termination_protection:
                cloudformation.update_termination_protection(StackName=stack_name, EnableTerminationProtection=True)
    except WaiterError as exc:
        raise StackError(f"Stack {stack_name} did not deploy: {_failure_reasons(cloudformation, stack_name) or exc}") from exc
    except (ClientError, BotoCoreError) as exc:
        raise StackError(f"Stack {stack_name}: {exc}") from exc
    return stack_outputs(cloudformation, stack_name)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = _describe(cloudformation, stack_name)
    if stack is None:
        raise StackError(f"Stack {stack_name} does not exist in this account and region: run `make resources` (or `make deploy`) first.")
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _describe(cloudformation: Any, stack_name: str) -> dict[str, Any] | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise StackError(f"Cannot read stack {stack_name}: {exc}") from exc
    except BotoCoreError as exc:  # no credentials, endpoint unreachable...
        raise StackError(f"Cannot read stack {stack_name}: {exc}") from exc
    return stacks[0] if stacks else None


def kept_parameters(previous: Sequence[Mapping[str, str]], given: Mapping[str, str], defaults: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """Parameters not given keep their previous values, if the new template still has them.

    A previous value equal to the template's default is left out (the default applies: same value).
    Others are sent as values rather than UsePreviousValue, which moto cannot resolve for parameters
    that were defaulted at creation; a NoEcho parameter reads back masked and keeps UsePreviousValue.
    """
    kept: list[dict[str, Any]] = []
    for parameter in previous:
        key, value = parameter["ParameterKey"], parameter.get("ParameterValue", "****")
        if key in given or key not in defaults or value == defaults[key]:
            continue
        kept.append({"ParameterKey": key, "UsePreviousValue": True} if value == "****" else {"ParameterKey": key, "ParameterValue": value})
    return kept


def _template_defaults(cloudformation: Any, template_body: str) -> dict[str, str | None]:
    summary = cloudformation.get_template_summary(TemplateBody=template_body)
    return {p["ParameterKey"]: p.get("DefaultValue") for p in summary.get("Parameters", [])}


def _failure_reasons(cloudformation: Any, stack_name: str) -> str:
    from botocore.exceptions import ClientError

    try:
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    except ClientError:
        return ""  # best effort: the caller reports the waiter's own error instead
    reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in events if e.get("ResourceStatus") in _FAILED]
    return "; ".join(reversed(reasons[:5]))


def _parse_params(items: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise StackError(f"--param takes KEY=VALUE, got {item!r}")
        params[key] = value
    return params


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.resources_stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--stack-name", help="default <app>-<stage>-resources")
    parser.add_argument("--region", help="default: your AWS configuration")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a template parameter (repeatable)")
    parser.add_argument("--termination-protection", action="store_true", help="turn on termination protection (prod)")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    try:
        stage = read_stage(args.stage)
        parameters = {"AppName": stage.app_name, "Stage": stage.stage, **_parse_params(args.param)}
        stack_name = args.stack_name or stage.resources_stack
        print(f"Deploying {args.template.relative_to(ROOT) if args.template.is_relative_to(ROOT) else args.template} as stack {stack_name}...", file=sys.stderr)
        outputs = deploy_stack(
            cloudformation_client(args.region), stack_name, args.template.read_text(), parameters, termination_protection=args.termination_protection
        )
    except (StackError, StageConfigError) as exc:
        print(f"resources_stack: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(outputs, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
