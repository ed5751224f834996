"""BackgroundServer serves a WSGI app on loopback until stopped."""

from __future__ import annotations

import pytest
import requests
from werkzeug.wrappers import Request, Response

from devstack.servers import BackgroundServer


@Request.application
def hello(request: Request) -> Response:
    return Response(f"hello {request.path}")


def test_serves_on_a_free_port_until_stopped() -> None:
    with BackgroundServer(hello) as server:
        assert server.port > 0
        assert server.host == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert requests.get(f"{server.url}/there", timeout=5).text == "hello /there"

    with pytest.raises(requests.ConnectionError):
        requests.get(server.url, timeout=2)


def test_stop_is_idempotent_and_frees_the_port() -> None:
    server = BackgroundServer(hello)
    port = server.port
    server.stop()
    server.stop()

    with BackgroundServer(hello, port=port) as again:
        assert requests.get(again.url, timeout=5).text == "hello /"
