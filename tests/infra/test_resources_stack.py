"""Deploy rehearsal, part 1: the resources stack created and updated in a moto server by the same code
``make deploy`` runs, then the stage's policy rendered from its real outputs.

moto's CloudFormation creates the table (key schema, GSI, billing mode, encryption), log groups, SNS
topic and dashboard; it skips secrets and alarms, and ignores TTL and point-in-time recovery, which
``test_template.py`` checks in the template instead."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Moto
from tools.render_policy import render_policy
from tools.resources_stack import TEMPLATE, deploy_stack, kept_parameters
from tools.stage_config import read_stage

STACK = "zoho-external-connections-dev-resources"


def deploy(moto: Moto, **parameters: str) -> dict[str, str]:
    return deploy_stack(moto.client("cloudformation"), STACK, TEMPLATE.read_text(), {"Stage": "dev", **parameters}, poll_seconds=1)


def test_stage_stack_creates_the_table_the_dev_stage_is_configured_with(moto: Moto) -> None:
    outputs = deploy(moto)
    table: dict[str, Any] = moto.client("dynamodb").describe_table(TableName=outputs["ConnectionsTableName"])["Table"]
    assert outputs["ConnectionsTableName"] == read_stage("dev").environment["CONNECTIONS_TABLE"] == "zoho-external-connections-dev"
    assert outputs["ConnectionsTableArn"] == "arn:aws:dynamodb:us-east-1:123456789012:table/zoho-external-connections-dev"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "outbox"
    assert index["KeySchema"] == [{"AttributeName": "outbox", "KeyType": "HASH"}, {"AttributeName": "next_attempt_at", "KeyType": "RANGE"}]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {"pk": "S", "sk": "S", "outbox": "S", "next_attempt_at": "N"}


def test_stage_stack_creates_log_groups_with_retention_topic_and_dashboard(moto: Moto) -> None:
    outputs = deploy(moto, LogRetentionInDays="14")
    groups = moto.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/zoho-external-connections-dev")["logGroups"]
    assert {g["logGroupName"]: g.get("retentionInDays") for g in groups} == {
        "/aws/lambda/zoho-external-connections-dev": 14,
        "/aws/lambda/zoho-external-connections-dev-reconcile": 14,
    }
    assert outputs["AlarmTopicArn"] == "arn:aws:sns:us-east-1:123456789012:zoho-external-connections-dev-alarms"
    assert moto.client("cloudwatch").list_dashboards()["DashboardEntries"][0]["DashboardName"] == "zoho-external-connections-dev"


def test_redeploying_keeps_parameters_not_given_again(moto: Moto) -> None:
    deploy(moto, AlarmEmail="ops@example.com", LogRetentionInDays="90")
    deploy(moto)  # no change at all: not an error
    deploy(moto, ZohoFailureThreshold="5")  # (moto cannot update a log group's retention in place)
    stack = moto.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert (parameters["AlarmEmail"], parameters["LogRetentionInDays"], parameters["ZohoFailureThreshold"]) == ("ops@example.com", "90", "5")


def testkept_parameters_are_the_previous_non_default_values_not_given_again() -> None:
    previous = [
        {"ParameterKey": "Stage", "ParameterValue": "prod"},
        {"ParameterKey": "AlarmEmail", "ParameterValue": "ops@example.com"},
        {"ParameterKey": "TableName", "ParameterValue": ""},
        {"ParameterKey": "Password", "ParameterValue": "****"},
        {"ParameterKey": "Removed", "ParameterValue": "x"},
    ]
    defaults = {"Stage": "dev", "AlarmEmail": "", "TableName": "", "Password": None}
    assert kept_parameters(previous, {"Stage": "prod"}, defaults) == [
        {"ParameterKey": "AlarmEmail", "ParameterValue": "ops@example.com"},
        {"ParameterKey": "Password", "UsePreviousValue": True},
    ]


def test_policy_renders_from_the_real_outputs(moto: Moto) -> None:
    outputs = deploy(moto)
    policy = render_policy(outputs, read_stage("dev"))
    resources = {statement["Sid"]: statement["Resource"] for statement in policy["Statement"]}
    assert resources == {
        "WriteOwnLogs": [
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/zoho-external-connections-dev:*",
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/zoho-external-connections-dev-reconcile:*",
        ],
        "ConnectionsTable": ["arn:aws:dynamodb:us-east-1:123456789012:table/zoho-external-connections-dev"],
        "ConnectionsTableIndexes": ["arn:aws:dynamodb:us-east-1:123456789012:table/zoho-external-connections-dev/index/*"],
        # moto creates no secrets from a template, so the policy falls back to their names
        "ReadSecrets": [
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:zoho-external-connections/dev/extension-secret-key-??????",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:zoho-external-connections/dev/oidc-client-secret-??????",
        ],
    }


def test_the_local_stack_way_table_name_only_still_works(moto: Moto) -> None:
    outputs = deploy_stack(
        moto.client("cloudformation"), "zoho-external-connections", TEMPLATE.read_text(), {"TableName": "zoho-external-connections-local"}, poll_seconds=1
    )
    assert outputs["ConnectionsTableName"] == "zoho-external-connections-local"
