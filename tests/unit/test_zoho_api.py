"""The Zoho client against a real HTTP server on loopback that answers from a script."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from chalicelib.datacenters import DataCenters
from chalicelib.zoho_api import MARK_AS_CONNECTED, MARK_AS_REVOKED, RetryPolicy, ZohoApiError, ZohoClient


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=lambda: {"code": 0, "message": "The external connection has been marked as connected."})
    content_type: str = "application/json"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class ScriptedZoho:
    """Answers each PUT with the next scripted reply (the last one repeats) and records what came in."""

    def __init__(self) -> None:
        self.replies: list[Reply] = [Reply()]
        self.requests: list[dict[str, object]] = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                script.requests.append({"path": self.path, "signature": self.headers.get("X-Zoho-Signature")})
                reply = script.replies.pop(0) if len(script.replies) > 1 else script.replies[0]
                time.sleep(reply.delay)
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def zoho() -> Iterator[ScriptedZoho]:
    server = ScriptedZoho()
    yield server
    server.server.shutdown()
    server.server.server_close()


def client_for(zoho: ScriptedZoho, sleeps: list[float] | None = None, **policy: float) -> ZohoClient:
    recorded = sleeps if sleeps is not None else []
    return ZohoClient(
        requests.Session(),
        DataCenters(base_urls={"com": zoho.url}, default="com"),
        RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=recorded.append,
    )


def mark(client: ZohoClient, action: str = MARK_AS_CONNECTED) -> object:
    return client.mark(dc="com", connection="ec__com_acme", organization_id="600123", action=action, signature="signed.jwt.value")


def test_success_sends_the_documented_put(zoho: ScriptedZoho) -> None:
    reply = mark(client_for(zoho))
    assert zoho.requests == [
        {"path": "/api/v3/settings/externalconnections/ec__com_acme?action=mark_as_connected&organization_id=600123", "signature": "signed.jwt.value"}
    ]
    assert (reply.http_status, reply.attempts) == (200, 1)  # type: ignore[attr-defined]


def test_revoke_uses_mark_as_revoked(zoho: ScriptedZoho) -> None:
    zoho.replies = [Reply(body={"code": 0, "message": "The external connection has been marked as revoked."})]
    mark(client_for(zoho), MARK_AS_REVOKED)
    assert zoho.requests[0]["path"] == "/api/v3/settings/externalconnections/ec__com_acme?action=mark_as_revoked&organization_id=600123"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(body={"code": 57, "message": "You are not authorized to perform this operation"}), "zoho_code_nonzero"),
        (Reply(body={"code": "0", "message": "string code"}), "zoho_code_nonzero"),
        (Reply(body={"code": False, "message": "bool code"}), "zoho_code_nonzero"),
        (Reply(body={"message": "no code"}), "zoho_code_nonzero"),
        (Reply(body=[0]), "zoho_bad_reply"),
        (Reply(body=b"<html>hello</html>", content_type="text/html"), "zoho_bad_reply"),
        (Reply(status=400, body={"code": 4, "message": "Invalid value passed"}), "zoho_http_400"),
        (Reply(status=401, body={"code": 57, "message": "You are not authorized"}), "zoho_http_401"),
        (Reply(status=404, body=b"<html>not found</html>", content_type="text/html"), "zoho_http_404"),
        (Reply(status=405, body={"code": 0, "message": "a zero code does not save an error status"}), "zoho_http_405"),
    ],
)
def test_permanent_failures_are_not_retried(zoho: ScriptedZoho, reply: Reply, reason: str) -> None:
    zoho.replies = [reply]
    with pytest.raises(ZohoApiError) as caught:
        mark(client_for(zoho))
    assert (caught.value.reason, caught.value.retryable, len(zoho.requests)) == (reason, False, 1)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(status=500, body={"code": 500, "message": "Internal error"}), "zoho_http_500"),
        (Reply(status=502, body=b"<html>bad gateway</html>", content_type="text/html"), "zoho_http_502"),
        (Reply(status=429, body={"code": 44, "message": "API call limit exceeded"}), "zoho_http_429"),
    ],
)
def test_transient_failures_are_retried_up_to_the_attempt_limit(zoho: ScriptedZoho, reply: Reply, reason: str) -> None:
    zoho.replies = [reply]
    sleeps: list[float] = []
    with pytest.raises(ZohoApiError) as caught:
        mark(client_for(zoho, sleeps, max_attempts=3))
    assert (caught.value.reason, len(zoho.requests), len(sleeps)) == (reason, 3, 2)
    assert all(0 <= pause <= 2.0 for pause in sleeps)


def test_a_transient_failure_that_recovers_succeeds(zoho: ScriptedZoho) -> None:
    zoho.replies = [Reply(status=503, body={"code": 1, "message": "busy"}), Reply()]
    assert mark(client_for(zoho)).attempts == 2  # type: ignore[attr-defined]


def test_retry_after_is_honoured_up_to_its_cap(zoho: ScriptedZoho) -> None:
    zoho.replies = [Reply(status=429, body={"code": 44, "message": "slow down"}, headers={"Retry-After": "120"}), Reply()]
    sleeps: list[float] = []
    mark(client_for(zoho, sleeps, max_retry_after=1.5))
    assert sleeps == [1.5]


def test_a_hanging_zoho_times_out_within_the_budget(zoho: ScriptedZoho) -> None:
    zoho.replies = [Reply(delay=3.0)]
    started = time.monotonic()
    with pytest.raises(ZohoApiError) as caught:
        mark(client_for(zoho, read_timeout=0.5, max_attempts=2))
    assert (caught.value.reason, caught.value.retryable, len(zoho.requests)) == ("zoho_timeout", True, 2)
    assert time.monotonic() - started < 2.5


def test_an_unreachable_zoho_is_a_named_transient_failure() -> None:
    client = ZohoClient(
        requests.Session(), DataCenters(base_urls={"com": "http://127.0.0.1:9"}, default="com"), RetryPolicy(max_attempts=2), sleep=lambda _: None
    )
    with pytest.raises(ZohoApiError) as caught:
        mark(client)
    assert (caught.value.reason, caught.value.retryable) == ("zoho_unreachable", True)


def test_the_connection_name_is_escaped_into_the_path(zoho: ScriptedZoho) -> None:
    client_for(zoho).mark(dc="com", connection="ec/../x?y", organization_id="1", action=MARK_AS_CONNECTED, signature="s")
    assert str(zoho.requests[0]["path"]).startswith("/api/v3/settings/externalconnections/ec%2F..%2Fx%3Fy?")
