"""The per-stage IAM policy: exactly these actions on exactly these resources, for given stack outputs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tools.render_policy import PolicyError, example_outputs, outputs_from_json, render_policy
from tools.stage_config import StageConfig, load_stage, read_stage

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "arn:aws:{}:eu-west-1:111122223333:{}"
TABLE_ARN = ACCOUNT.format("dynamodb", "table/zoho-external-connections-dev")
EXTENSION_ARN = ACCOUNT.format("secretsmanager", "secret:zoho-external-connections/dev/extension-secret-key-Ab12Cd")
OIDC_ARN = ACCOUNT.format("secretsmanager", "secret:zoho-external-connections/dev/oidc-client-secret-Ef34Gh")
OUTPUTS = {
    "ConnectionsTableName": "zoho-external-connections-dev",
    "ConnectionsTableArn": TABLE_ARN,
    "ExtensionSecretArn": EXTENSION_ARN,
    "ExtensionSecretName": "zoho-external-connections/dev/extension-secret-key",
    "OidcClientSecretArn": OIDC_ARN,
    "OidcClientSecretName": "zoho-external-connections/dev/oidc-client-secret",
    "ApiLogGroupArn": ACCOUNT.format("logs", "log-group:/aws/lambda/zoho-external-connections-dev:*"),
    "ReconcileLogGroupArn": ACCOUNT.format("logs", "log-group:/aws/lambda/zoho-external-connections-dev-reconcile:*"),
    "AlarmTopicArn": ACCOUNT.format("sns", "zoho-external-connections-dev-alarms"),
}
LOGS = {
    "Sid": "WriteOwnLogs",
    "Effect": "Allow",
    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": [OUTPUTS["ApiLogGroupArn"], OUTPUTS["ReconcileLogGroupArn"]],
}
TABLE = {
    "Sid": "ConnectionsTable",
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"],
    "Resource": [TABLE_ARN],
}
INDEXES = {"Sid": "ConnectionsTableIndexes", "Effect": "Allow", "Action": ["dynamodb:Query", "dynamodb:Scan"], "Resource": [f"{TABLE_ARN}/index/*"]}


def secrets(*arns: str) -> dict[str, Any]:
    return {"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": list(arns)}


def stage(name: str = "dev", **environment: str) -> StageConfig:
    base = read_stage(name)
    return replace(base, environment={**base.environment, **environment})


def test_dev_policy_is_exactly_logs_table_indexes_and_two_secrets() -> None:
    assert render_policy(OUTPUTS, stage("dev")) == {"Version": "2012-10-17", "Statement": [LOGS, TABLE, INDEXES, secrets(EXTENSION_ARN, OIDC_ARN)]}


def test_prod_policy_adds_xray_writes_because_prod_traces() -> None:
    prod = stage("prod")
    outputs = {**example_outputs(prod), "ConnectionsTableArn": ACCOUNT.format("dynamodb", "table/zoho-external-connections-prod")}
    statements = render_policy(outputs, prod)["Statement"]
    assert prod.xray is True
    assert statements[-1] == {"Sid": "WriteTraces", "Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": ["*"]}
    assert [s["Sid"] for s in statements] == ["WriteOwnLogs", "ConnectionsTable", "ConnectionsTableIndexes", "ReadSecrets", "WriteTraces"]


def test_event_bus_name_adds_put_events_on_that_bus_only() -> None:
    statements = render_policy(OUTPUTS, stage(EVENT_BUS_NAME="acme-connections"))["Statement"]
    assert statements[-1] == {
        "Sid": "PublishEvents",
        "Effect": "Allow",
        "Action": ["events:PutEvents"],
        "Resource": [ACCOUNT.format("events", "event-bus/acme-connections")],
    }


def test_event_bus_arn_is_used_as_given() -> None:
    bus = "arn:aws:events:eu-west-1:444455556666:event-bus/shared"
    assert render_policy(OUTPUTS, stage(EVENT_BUS_NAME=bus))["Statement"][-1]["Resource"] == [bus]


def test_zoho_signing_secret_created_by_the_stack_is_the_third_secret() -> None:
    signing_arn = ACCOUNT.format("secretsmanager", "secret:zoho-external-connections/dev/zoho-signing-secret-Ij56Kl")
    outputs = {**OUTPUTS, "ZohoSigningSecretArn": signing_arn, "ZohoSigningSecretName": "zoho-external-connections/dev/zoho-signing-secret"}
    policy = render_policy(outputs, stage(ZOHO_SIGNING_SECRET_ID="zoho-external-connections/dev/zoho-signing-secret"))
    assert policy["Statement"][3] == secrets(EXTENSION_ARN, signing_arn, OIDC_ARN)


def test_zoho_signing_secret_equal_to_the_extension_secret_is_listed_once() -> None:
    policy = render_policy(OUTPUTS, stage(ZOHO_SIGNING_SECRET_ID="zoho-external-connections/dev/extension-secret-key"))
    assert policy["Statement"][3] == secrets(EXTENSION_ARN, OIDC_ARN)


def test_secrets_outside_the_stack_are_matched_by_name_with_the_six_character_suffix() -> None:
    partial_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:acme/oidc"
    policy = render_policy(OUTPUTS, stage(ZOHO_SIGNING_SECRET_ID="acme/zoho-key", OIDC_CLIENT_SECRET_ID=partial_arn))
    assert policy["Statement"][3] == secrets(
        EXTENSION_ARN,
        ACCOUNT.format("secretsmanager", "secret:acme/zoho-key-??????"),
        ACCOUNT.format("secretsmanager", "secret:acme/oidc-??????"),
    )


def test_a_full_secret_arn_is_used_as_given() -> None:
    full = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:acme/oidc-Zz99Yy"
    assert render_policy(OUTPUTS, stage(OIDC_CLIENT_SECRET_ID=full))["Statement"][3] == secrets(EXTENSION_ARN, full)


def test_without_stack_log_groups_lambda_may_create_its_own_two_groups() -> None:
    outputs = {k: v for k, v in OUTPUTS.items() if not k.endswith("LogGroupArn")}
    assert render_policy(outputs, stage())["Statement"][0] == {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [
            ACCOUNT.format("logs", "log-group:/aws/lambda/zoho-external-connections-dev:*"),
            ACCOUNT.format("logs", "log-group:/aws/lambda/zoho-external-connections-dev-reconcile:*"),
        ],
    }


def test_log_group_arns_without_the_stream_wildcard_get_it() -> None:
    outputs = {**OUTPUTS, "ApiLogGroupArn": OUTPUTS["ApiLogGroupArn"].removesuffix(":*")}
    assert render_policy(outputs, stage())["Statement"][0]["Resource"] == LOGS["Resource"]


def test_no_wildcard_action_and_no_wildcard_resource_but_xray() -> None:
    prod = stage("prod", EVENT_BUS_NAME="bus", ZOHO_SIGNING_SECRET_ID="other")
    outputs = {**OUTPUTS, "ConnectionsTableName": "zoho-external-connections-prod", "ConnectionsTableArn": TABLE_ARN.replace("-dev", "-prod")}
    for statement in render_policy(outputs, prod)["Statement"]:
        assert all("*" not in action for action in statement["Action"])
        assert statement["Resource"] == ["*"] or all(resource.startswith("arn:aws:") for resource in statement["Resource"])
        assert statement["Resource"] != ["*"] or statement["Sid"] == "WriteTraces"


def test_a_table_other_than_the_configured_one_is_refused() -> None:
    with pytest.raises(PolicyError, match="CONNECTIONS_TABLE for stage 'dev' is 'zoho-external-connections-dev' but the resources stack created 'other'"):
        render_policy({**OUTPUTS, "ConnectionsTableName": "other", "ConnectionsTableArn": ACCOUNT.format("dynamodb", "table/other")}, stage())


def test_outputs_without_the_table_arn_are_refused() -> None:
    with pytest.raises(PolicyError, match="no ConnectionsTableArn output"):
        render_policy({k: v for k, v in OUTPUTS.items() if k != "ConnectionsTableArn"}, stage())


def test_a_missing_required_secret_id_is_refused() -> None:
    with pytest.raises(PolicyError, match="OIDC_CLIENT_SECRET_ID is not set for stage 'dev'"):
        render_policy(OUTPUTS, stage(OIDC_CLIENT_SECRET_ID=""))


def test_a_stage_whose_policy_chalice_generates_is_refused() -> None:
    with pytest.raises(PolicyError, match='set "autogen_policy": false'):
        render_policy(OUTPUTS, read_stage("local"))


def test_dev_and_prod_take_their_own_policy_file_and_local_is_untouched() -> None:
    assert (read_stage("dev").iam_policy_file, read_stage("dev").policy_from_file, read_stage("dev").xray) == ("policy-dev.json", True, False)
    assert (read_stage("prod").iam_policy_file, read_stage("prod").policy_from_file, read_stage("prod").xray) == ("policy-prod.json", True, True)
    assert read_stage("local").policy_from_file is False


def test_xray_on_one_function_turns_the_statement_on() -> None:
    config = {"app_name": "a", "stages": {"s": {"autogen_policy": False, "lambda_functions": {"reconcile": {"xray": True}}}}}
    assert load_stage(config, "s").xray is True


def test_the_committed_example_is_the_dev_policy_for_the_example_outputs() -> None:
    dev = read_stage("dev")
    assert json.loads((ROOT / ".chalice" / "policy-example.json").read_text()) == render_policy(example_outputs(dev), dev)


@pytest.mark.parametrize(
    "document",
    [
        {"ConnectionsTableArn": "x"},
        [{"OutputKey": "ConnectionsTableArn", "OutputValue": "x"}],
        {"Stacks": [{"Outputs": [{"OutputKey": "ConnectionsTableArn", "OutputValue": "x"}]}]},
    ],
)
def test_outputs_files_in_each_accepted_shape(document: Any) -> None:
    assert outputs_from_json(document) == {"ConnectionsTableArn": "x"}
