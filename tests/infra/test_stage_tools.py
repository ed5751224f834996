"""The small deploy helpers: the configuration check and the URLs to paste into Zoho Sigma."""

from __future__ import annotations

from dataclasses import replace

from tools.check_config import problem
from tools.sigma_urls import base_url, urls
from tools.stage_config import read_stage

DEPLOYED = {"resources": [{"resource_type": "rest_api", "rest_api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com/api/"}]}
COMPLETE = {
    "EXTENSION_API_NAME": "pu_com_acme",
    "CONNECTION_API_NAMES": "ec__com_acme, ec__com_acme_eu",
    "OIDC_ISSUER": "https://login.acme.example",
    "OIDC_CLIENT_ID": "zoho-connector",
}


def test_the_shipped_prod_configuration_names_its_first_missing_variable() -> None:
    assert problem(read_stage("prod")) == "EXTENSION_API_NAME is not set: it is required (see docs/configuration.md)."


def test_a_filled_in_stage_passes_the_check() -> None:
    stage = read_stage("dev")
    assert problem(replace(stage, environment={**stage.environment, **COMPLETE})) is None


def test_urls_on_the_execute_api_url_carry_the_api_gateway_stage() -> None:
    stage = read_stage("dev")
    stage = replace(stage, environment={**stage.environment, **COMPLETE})
    base = base_url(stage, DEPLOYED)
    assert base == "https://abc123.execute-api.eu-west-1.amazonaws.com/api"
    assert urls(base, stage) == [
        ("Health check", f"{base}/health"),
        ("OpenID Connect redirect URI", f"{base}/auth/callback"),
        ("ec__com_acme: Connection URL", f"{base}/connections/ec__com_acme/connect"),
        ("ec__com_acme: Revoke URL", f"{base}/connections/ec__com_acme/revoke"),
        ("ec__com_acme_eu: Connection URL", f"{base}/connections/ec__com_acme_eu/connect"),
        ("ec__com_acme_eu: Revoke URL", f"{base}/connections/ec__com_acme_eu/revoke"),
    ]


def test_public_base_url_wins_over_the_execute_api_url() -> None:
    stage = read_stage("dev")
    stage = replace(stage, environment={**stage.environment, "PUBLIC_BASE_URL": "https://connect.acme.example/"})
    assert base_url(stage, DEPLOYED) == "https://connect.acme.example"


def test_an_undeployed_stage_has_no_base_url() -> None:
    assert base_url(read_stage("dev"), None) is None


def test_each_deployed_stage_names_its_metrics_as_the_template_derives_them() -> None:
    """The alarms watch service=<AppName>-<Stage> unless MetricServiceName says otherwise."""
    import json

    from tools.stage_config import ROOT

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage in ("dev", "prod"):
        assert config["stages"][stage]["environment_variables"]["METRICS_SERVICE"] == f"{config['app_name']}-{stage}"
