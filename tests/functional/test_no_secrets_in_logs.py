"""The logs of a whole connect-and-revoke flow hold no key, token, code or cookie value."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
import requests

from devstack.stack import LocalStack
from tests.conftest import Browser, Installation, csrf_of

JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}")
# The dev servers (moto, sandbox, provider) log their own request lines; the service is everything else.
DEV_SERVERS = ("werkzeug", "moto", "oidc_provider_mock")


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """What the service's log handler writes (stdout in Lambda: CloudWatch Logs), as written."""
    from chalicelib import logs

    logs.configure()
    (handler,) = logs.service_handlers()
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_a_full_flow_logs_no_secret(
    browser: Browser, stack: LocalStack, installation: Installation, caplog: pytest.LogCaptureFixture, service_log: io.StringIO
) -> None:
    caplog.set_level(logging.INFO)  # the libraries' logs (botocore, urllib3, chalice) go to the root logger
    token = installation.token(stack)
    started = browser.start("connect", token)
    sign_in = requests.post(started.headers["Location"], data={"sub": "ada@acme.example"}, allow_redirects=False, timeout=5)
    code = re.search(r"code=([^&]+)", sign_in.headers["Location"]).group(1)  # type: ignore[union-attr]
    consent = browser.get(browser.get(sign_in.headers["Location"]).headers["Location"])
    csrf = csrf_of(consent)
    browser.decide(consent, "allow")
    browser.start("revoke", installation.token(stack))
    browser.decide(browser.get("/flow"), "revoke")
    client_secret = stack.aws_client("secretsmanager").get_secret_value(SecretId=stack.stage_env["OIDC_CLIENT_SECRET_ID"])["SecretString"]

    lines = [json.loads(line) for line in service_log.getvalue().splitlines()]
    assert [line["message"] for line in lines].count("zoho_confirmed") == 2
    library_records = [record for record in caplog.records if not record.name.startswith(DEV_SERVERS)]
    logged = service_log.getvalue() + "\n".join(f"{record.getMessage()} {record.__dict__}" for record in library_records)
    for secret in (stack.extension_secret_key, token, code, csrf, browser.cookie, client_secret):
        assert secret
        assert secret not in logged
    assert JWT_SHAPE.search(logged) is None
