"""API Gateway's own answers (unknown path, throttling, its 5xx) are HTML pages, set after deploy."""

from __future__ import annotations

from tests.infra.conftest import Moto
from tools.gateway_responses import RESPONSES, apply, rest_api_id


def test_the_rest_api_is_found_in_chalices_deployed_record() -> None:
    deployed = {"resources": [{"resource_type": "iam_role", "name": "x"}, {"resource_type": "rest_api", "rest_api_id": "abc123", "rest_api_url": "https://x"}]}
    assert rest_api_id(deployed) == "abc123"
    assert rest_api_id({"resources": []}) is None


def test_every_gateway_response_is_an_html_page(moto: Moto) -> None:
    client = moto.client("apigateway")
    api_id = client.create_rest_api(name="zoho-external-connections")["id"]
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]  # chalice deploy would have made the routes
    client.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    assert apply(client, api_id, "api") == sorted(RESPONSES)
    missing = client.get_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert missing["statusCode"] == "404"
    assert missing["responseParameters"]["gatewayresponse.header.Content-Type"] == "'text/html; charset=utf-8'"
    assert missing["responseParameters"]["gatewayresponse.header.Cache-Control"] == "'no-store'"
    assert "<h1>Page not found</h1>" in missing["responseTemplates"]["application/json"]
    assert missing["responseTemplates"]["text/html"] == missing["responseTemplates"]["application/json"]
    assert {r["responseType"] for r in client.get_gateway_responses(restApiId=api_id)["items"]} >= set(RESPONSES)
    assert client.get_deployments(restApiId=api_id)["items"]
