"""infra/resources.yaml as written: lint-clean, every parameter defaulted, the table as the store needs
it, placeholders the service refuses, and one runbook entry per alarm."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from chalicelib.secrets import SecretFormatError, parse_extension_key

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "resources.yaml"
ALARMS = {
    "ApiErrorRateAlarm": "api-error-rate",
    "ReconcileErrorsAlarm": "reconcile-errors",
    "LambdaThrottlesAlarm": "lambda-throttles",
    "TableThrottlesAlarm": "dynamodb-throttles",
    "ZohoConfirmationFailuresAlarm": "zoho-confirmation-failures",
    "ReconciliationGiveUpsAlarm": "reconciliation-give-ups",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return dict(cfn_yaml.load(str(TEMPLATE_PATH)))


def resources_of(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(TEMPLATE_PATH)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_parameter_has_a_default_and_table_name_keeps_its_meaning(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert [name for name, body in parameters.items() if "Default" not in body] == []
    assert parameters["Stage"]["Default"] == "dev"
    assert parameters["TableName"]["Default"] == ""  # empty: <AppName>-<Stage>
    assert template["Resources"]["ConnectionsTable"]["Properties"]["TableName"] == {
        "Fn::If": ["DeriveTableName", {"Fn::Sub": "${AppName}-${Stage}"}, {"Ref": "TableName"}]
    }


def test_outputs_name_everything_the_app_and_its_policy_need(template: dict[str, Any]) -> None:
    assert set(template["Outputs"]) >= {
        "ConnectionsTableName",
        "ConnectionsTableArn",
        "ExtensionSecretArn",
        "ExtensionSecretName",
        "OidcClientSecretArn",
        "OidcClientSecretName",
        "ZohoSigningSecretArn",
        "ApiLogGroupArn",
        "ReconcileLogGroupArn",
        "AlarmTopicArn",
        "DashboardName",
    }


def test_table_is_on_demand_encrypted_recoverable_with_ttl_and_the_sparse_outbox_index(template: dict[str, Any]) -> None:
    table = template["Resources"]["ConnectionsTable"]
    properties = table["Properties"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "outbox",
            "KeySchema": [{"AttributeName": "outbox", "KeyType": "HASH"}, {"AttributeName": "next_attempt_at", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    types = {item["AttributeName"]: item["AttributeType"] for item in properties["AttributeDefinitions"]}
    assert types == {"pk": "S", "sk": "S", "outbox": "S", "next_attempt_at": "N"}


def test_secret_placeholders_are_refused_by_the_service(template: dict[str, Any]) -> None:
    secrets = resources_of(template, "AWS::SecretsManager::Secret")
    assert set(secrets) == {"ExtensionSecret", "OidcClientSecret", "ZohoSigningSecret"}
    for name in ("ExtensionSecret", "ZohoSigningSecret"):
        placeholder = secrets[name]["Properties"]["SecretString"]
        assert json.loads(placeholder) == {"secret_key": ""}
        with pytest.raises(SecretFormatError, match='is JSON without a non-empty string "secret_key"'):
            parse_extension_key(name, placeholder)
    # The OIDC client secret is used as text; blank is what the service refuses ("must hold ... as text").
    assert secrets["OidcClientSecret"]["Properties"]["SecretString"].strip() == ""
    assert all(body["DeletionPolicy"] == "Retain" for body in secrets.values())


def test_secret_names_are_the_ones_the_stages_are_configured_with(template: dict[str, Any]) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    names = {name: body["Properties"]["Name"]["Fn::Sub"] for name, body in resources_of(template, "AWS::SecretsManager::Secret").items()}
    for stage in ("dev", "prod"):
        environment = config["stages"][stage]["environment_variables"]
        expand = {key: value.replace("${AppName}", config["app_name"]).replace("${Stage}", stage) for key, value in names.items()}
        assert environment["EXTENSION_SECRET_ID"] == expand["ExtensionSecret"]
        assert environment["OIDC_CLIENT_SECRET_ID"] == expand["OidcClientSecret"]
        assert environment["CONNECTIONS_TABLE"] == f"{config['app_name']}-{stage}"


def test_alarms_are_exactly_these_and_all_notify_the_topic(template: dict[str, Any]) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(ALARMS)
    topic = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
    for name, body in alarms.items():
        properties = body["Properties"]
        assert properties["AlarmName"] == {"Fn::Sub": f"${{AppName}}-${{Stage}}-{ALARMS[name]}"}
        assert properties["AlarmActions"] == [topic]
        assert properties["OKActions"] == [topic]
        assert properties["TreatMissingData"] == "notBreaching"


def test_each_alarm_points_at_its_runbook_entry(template: dict[str, Any]) -> None:
    anchors = {_github_anchor(line) for line in (ROOT / "docs" / "operations.md").read_text().splitlines() if line.startswith("#")}
    for name, body in resources_of(template, "AWS::CloudWatch::Alarm").items():
        anchor = ALARMS[name]  # the runbook heading is the alarm name's suffix
        assert f"docs/operations.md#{anchor}" in body["Properties"]["AlarmDescription"]
        assert anchor in anchors, f"docs/operations.md has no heading for #{anchor}"


def test_the_dashboard_shows_every_alarm_and_is_valid_json(template: dict[str, Any]) -> None:
    body, variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    alarm_widget = next(widget for widget in dashboard["widgets"] if widget["type"] == "alarm")
    assert len(alarm_widget["properties"]["alarms"]) == len(ALARMS)
    for suffix in ALARMS.values():
        assert f'"${{AlarmArnPrefix}}-{suffix}"' in body
    assert set(variables) == {"ApiFunction", "ReconcileFunction", "AlarmArnPrefix", "MetricService"}


def test_log_groups_are_the_names_lambda_writes_to(template: dict[str, Any]) -> None:
    groups = resources_of(template, "AWS::Logs::LogGroup")
    assert {name: body["Properties"]["LogGroupName"] for name, body in groups.items()} == {
        "ApiLogGroup": {"Fn::Sub": "/aws/lambda/${AppName}-${Stage}"},
        "ReconcileLogGroup": {"Fn::Sub": "/aws/lambda/${AppName}-${Stage}-reconcile"},
    }


def _github_anchor(heading: str) -> str:
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^a-z0-9 -]", "", text).replace(" ", "-")
