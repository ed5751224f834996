"""The FLOOR of the cold start: a Chalice app that imports chalice and boto3, creates the same two
clients (Secrets Manager, DynamoDB, same botocore Config) and makes the same AWS calls as the
service's first Connection or Revoke URL request (GetSecretValue, consistent GetItem, conditional
PutItem), and nothing else. The Connection URL also fetches the provider's discovery document, as
the service must before it can redirect to sign-in, with the urllib3 that botocore has already
loaded. Served through the same Lambda-event path (``BENCH_KIND``). Prints one ``BENCH {json}`` line."""

import time

T0 = time.perf_counter()
C0 = time.process_time()

import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import boto3  # noqa: E402
import urllib3  # noqa: E402
from botocore.config import Config  # noqa: E402
from chalice import Chalice, Response  # noqa: E402

from bench.events import LambdaContext, first_request, report  # noqa: E402

app = Chalice(app_name="floor")
_clients: dict[str, object] = {}


def _aws_calls() -> None:
    if not _clients:
        session = boto3.session.Session()
        config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
        _clients["secretsmanager"] = session.client("secretsmanager", config=config)
        _clients["dynamodb"] = session.client("dynamodb", config=config)
    sm, ddb = _clients["secretsmanager"], _clients["dynamodb"]
    sm.get_secret_value(SecretId=os.environ["EXTENSION_SECRET_ID"])  # type: ignore[attr-defined]
    table = os.environ["CONNECTIONS_TABLE"]
    ddb.get_item(TableName=table, Key={"pk": {"S": "TOKEN#floor"}, "sk": {"S": "TOKEN"}}, ConsistentRead=True)  # type: ignore[attr-defined]
    pk = f"ATTEMPT#floor-{secrets.token_urlsafe(16)}"
    ddb.put_item(  # type: ignore[attr-defined]
        TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "ATTEMPT"}, "expires_at": {"N": "1"}}, ConditionExpression="attribute_not_exists(pk)"
    )


@app.route("/connections/{connection}/revoke")
def revoke(connection: str) -> Response:
    _aws_calls()
    return Response(body="", status_code=303, headers={"Location": "/flow"})


@app.route("/connections/{connection}/connect")
def connect(connection: str) -> Response:
    discovery = urllib3.PoolManager().request("GET", os.environ["OIDC_ISSUER"].rstrip("/") + "/.well-known/openid-configuration", timeout=5.0)
    _aws_calls()
    return Response(body="", status_code=303, headers={"Location": json.loads(discovery.data)["authorization_endpoint"]})


T1 = time.perf_counter()
connection = os.environ["BENCH_CONNECTION"]
reply = app(first_request(connection, os.environ["BENCH_TOKEN"], kind=os.environ.get("BENCH_KIND", "revoke")), LambdaContext())
T2 = time.perf_counter()
report(T0, T1, T2, C0, reply)
