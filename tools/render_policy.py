"""Render a stage's least-privilege IAM policy (``.chalice/policy-<stage>.json``) from the outputs of
its resources stack (``infra/resources.yaml``) and the stage's settings in ``.chalice/config.json``.

``render_policy`` is pure (outputs + stage settings -> policy document); ``main`` is the command
``make policy`` / ``make deploy`` run:

    python -m tools.render_policy --stage dev                      # outputs from CloudFormation
    python -m tools.render_policy --stage dev --outputs-file o.json
    python -m tools.render_policy --stage dev --example --write .chalice/policy-example.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.resources_stack import StackError, cloudformation_client, stack_outputs
from tools.stage_config import ROOT, StageConfig, StageConfigError, read_stage

TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"]
"""TransactWriteItems has no IAM action of its own: each Put member is authorised as dynamodb:PutItem."""
INDEX_ACTIONS = ["dynamodb:Query", "dynamodb:Scan"]
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]
XRAY_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]

_TABLE_ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):table/(?P<name>[A-Za-z0-9_.-]+)$")
_FULL_SECRET_ARN = re.compile(r"^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$")
_SECRET_ARN = re.compile(r"^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")
_EVENT_BUS_ARN = re.compile(r"^arn:[a-z-]+:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9/_.-]+$")
_EVENT_BUS_NAME = re.compile(r"^[A-Za-z0-9/_.-]{1,256}$")

# The service's secret settings, and the stack outputs (ARN, name) of the secrets the stack creates.
_SECRET_VARIABLES = ("EXTENSION_SECRET_ID", "ZOHO_SIGNING_SECRET_ID", "OIDC_CLIENT_SECRET_ID")
_STACK_SECRETS = (
    ("ExtensionSecretArn", "ExtensionSecretName"),
    ("ZohoSigningSecretArn", "ZohoSigningSecretName"),
    ("OidcClientSecretArn", "OidcClientSecretName"),
)


class PolicyError(Exception):
    """The stack outputs and the stage's settings do not describe one consistent deployment."""


@dataclass(frozen=True)
class Account:
    partition: str
    region: str
    account_id: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"


def render_policy(outputs: Mapping[str, str], stage: StageConfig) -> dict[str, Any]:
    """The policy document for ``stage``, given its resources stack's ``outputs``.

    Exactly: the log streams of the stage's two functions; the DynamoDB actions the store uses on the
    one table (Query and Scan also on its indexes); GetSecretValue on the configured secrets;
    events:PutEvents on EVENT_BUS_NAME when set; X-Ray writes (resource ``*``, as X-Ray requires)
    when tracing is on. Raises PolicyError when the stage's settings name another table or secret.
    """
    if not stage.policy_from_file:
        raise PolicyError(f'Stage {stage.stage!r} does not take its policy from a file: set "autogen_policy": false in .chalice/config.json.')
    table_arn = _required_output(outputs, "ConnectionsTableArn")
    account = _account_of(table_arn)
    _check_table(outputs, stage, table_arn)
    statements: list[dict[str, Any]] = [
        _logs_statement(outputs, stage, account),
        _statement("ConnectionsTable", TABLE_ACTIONS, [table_arn]),
        _statement("ConnectionsTableIndexes", INDEX_ACTIONS, [f"{table_arn}/index/*"]),
        _statement("ReadSecrets", ["secretsmanager:GetSecretValue"], _secret_arns(outputs, stage, account)),
    ]
    bus = stage.environment.get("EVENT_BUS_NAME", "").strip()
    if bus:
        statements.append(_statement("PublishEvents", ["events:PutEvents"], [_event_bus_arn(bus, account)]))
    if stage.xray:
        statements.append(_statement("WriteTraces", XRAY_ACTIONS, ["*"]))
    return {"Version": "2012-10-17", "Statement": statements}


def example_outputs(stage: StageConfig, account: Account = Account("aws", "us-east-1", "123456789012")) -> dict[str, str]:
    """What ``infra/resources.yaml`` outputs for ``stage`` with default parameters (docs, tests)."""
    prefix = f"{stage.app_name}/{stage.stage}"
    return {
        "AppName": stage.app_name,
        "Stage": stage.stage,
        "ConnectionsTableName": f"{stage.app_name}-{stage.stage}",
        "ConnectionsTableArn": account.arn("dynamodb", f"table/{stage.app_name}-{stage.stage}"),
        "ExtensionSecretArn": account.arn("secretsmanager", f"secret:{prefix}/extension-secret-key-AbCdEf"),
        "ExtensionSecretName": f"{prefix}/extension-secret-key",
        "OidcClientSecretArn": account.arn("secretsmanager", f"secret:{prefix}/oidc-client-secret-GhIjKl"),
        "OidcClientSecretName": f"{prefix}/oidc-client-secret",
        "ApiLogGroupArn": account.arn("logs", f"log-group:/aws/lambda/{stage.api_function}:*"),
        "ReconcileLogGroupArn": account.arn("logs", f"log-group:/aws/lambda/{stage.reconcile_function}:*"),
        "AlarmTopicArn": account.arn("sns", f"{stage.app_name}-{stage.stage}-alarms"),
        "DashboardName": f"{stage.app_name}-{stage.stage}",
    }


# -- the statements ------------------------------------------------------------------------------


def _statement(sid: str, actions: Sequence[str], resources: Sequence[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": list(resources)}


def _logs_statement(outputs: Mapping[str, str], stage: StageConfig, account: Account) -> dict[str, Any]:
    """Write to the two functions' own log groups. The resources stack creates them (with retention);
    if it was told not to (ManageLogGroups=false), Lambda must be allowed to create them itself."""
    given = [outputs.get("ApiLogGroupArn"), outputs.get("ReconcileLogGroupArn")]
    if all(given):
        return _statement("WriteOwnLogs", LOG_ACTIONS, [_log_group_resource(arn) for arn in given if arn])
    derived = [account.arn("logs", f"log-group:/aws/lambda/{name}:*") for name in (stage.api_function, stage.reconcile_function)]
    return _statement("WriteOwnLogs", [*LOG_ACTIONS, "logs:CreateLogGroup"], derived)


def _log_group_resource(arn: str) -> str:
    # CloudFormation's LogGroup Arn ends in ":*" (which also covers the group's log streams); some
    # emulators leave it off.
    return arn if arn.endswith(":*") else f"{arn}:*"


def _secret_arns(outputs: Mapping[str, str], stage: StageConfig, account: Account) -> list[str]:
    known: dict[str, str] = {}  # a stack secret's name or ARN -> its ARN
    for arn_output, name_output in _STACK_SECRETS:
        arn = outputs.get(arn_output)
        if arn:
            known[arn] = arn
            if outputs.get(name_output):
                known[outputs[name_output]] = arn
    arns: list[str] = []
    for variable in _SECRET_VARIABLES:
        secret_id = stage.environment.get(variable, "").strip()
        if not secret_id:
            if variable == "ZOHO_SIGNING_SECRET_ID":
                continue  # optional: the extension's Secret Key verifies Zoho's tokens
            raise PolicyError(f"{variable} is not set for stage {stage.stage!r} in .chalice/config.json.")
        arn = known.get(secret_id) or _secret_arn(secret_id, account)
        if arn not in arns:
            arns.append(arn)
    return arns


def _secret_arn(secret_id: str, account: Account) -> str:
    """The ARN an IAM policy needs for a secret the stack did not create (a name or an ARN)."""
    if _FULL_SECRET_ARN.match(secret_id):
        return secret_id
    if _SECRET_ARN.match(secret_id):
        return f"{secret_id}-??????"  # a partial ARN; Secrets Manager appends six random characters
    return account.arn("secretsmanager", f"secret:{secret_id}-??????")


def _event_bus_arn(bus: str, account: Account) -> str:
    if _EVENT_BUS_ARN.match(bus):
        return bus
    if not _EVENT_BUS_NAME.match(bus):
        raise PolicyError(f"EVENT_BUS_NAME must be an event bus name or ARN, got {bus!r}.")
    return account.arn("events", f"event-bus/{bus}")


def _required_output(outputs: Mapping[str, str], key: str) -> str:
    value = outputs.get(key, "").strip()
    if not value:
        raise PolicyError(f"The resources stack has no {key} output: was it created from infra/resources.yaml?")
    return value


def _account_of(table_arn: str) -> Account:
    match = _TABLE_ARN.match(table_arn)
    if not match:
        raise PolicyError(f"ConnectionsTableArn is not a DynamoDB table ARN: {table_arn!r}.")
    return Account(match["partition"], match["region"], match["account"])


def _check_table(outputs: Mapping[str, str], stage: StageConfig, table_arn: str) -> None:
    configured = stage.environment.get("CONNECTIONS_TABLE", "").strip()
    created = outputs.get("ConnectionsTableName") or table_arn.rsplit("/", 1)[1]
    if configured != created:
        raise PolicyError(
            f"CONNECTIONS_TABLE for stage {stage.stage!r} is {configured!r} but the resources stack created {created!r}: "
            "set one to the other (.chalice/config.json or the stack's TableName parameter)."
        )


# -- command line ---------------------------------------------------------------------------------


def outputs_from_json(document: Any) -> dict[str, str]:
    """Accept ``{"Key": "Value"}``, a list of CloudFormation outputs, or a describe-stacks reply."""
    if isinstance(document, dict) and "Stacks" in document:
        document = document["Stacks"][0].get("Outputs", [])
    if isinstance(document, list):
        return {str(item["OutputKey"]): str(item["OutputValue"]) for item in document}
    if isinstance(document, dict):
        return {str(key): str(value) for key, value in document.items()}
    raise PolicyError("The outputs file must hold a JSON object or a list of CloudFormation outputs.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.render_policy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack-name", help="resources stack to read (default <app>-<stage>-resources)")
    source.add_argument("--outputs-file", type=Path, help="JSON outputs instead of asking CloudFormation")
    source.add_argument("--example", action="store_true", help="use example outputs (account 123456789012)")
    parser.add_argument("--region", help="AWS region of the stack (default: your AWS configuration)")
    parser.add_argument("--write", help="where to write the policy (default .chalice/<iam_policy_file>; '-' for stdout)")
    args = parser.parse_args(argv)
    try:
        stage = read_stage(args.stage)
        if args.example:
            outputs = example_outputs(stage)
        elif args.outputs_file:
            outputs = outputs_from_json(json.loads(args.outputs_file.read_text()))
        else:
            outputs = stack_outputs(cloudformation_client(args.region), args.stack_name or stage.resources_stack)
        policy = render_policy(outputs, stage)
    except (PolicyError, StageConfigError, StackError) as exc:
        print(f"render_policy: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(policy, indent=2) + "\n"
    if args.write == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.write) if args.write else ROOT / ".chalice" / stage.iam_policy_file
    target.write_text(text)
    actions = sorted({action for statement in policy["Statement"] for action in statement["Action"]})
    print(f"Wrote {target} ({len(policy['Statement'])} statements: {', '.join(actions)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
