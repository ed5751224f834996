"""Serve a WSGI app on a background thread, for the local stack and tests."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Self

from werkzeug.serving import make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

# shutdown() waits for serve_forever() to notice, which polls at this interval.
_POLL_INTERVAL = 0.1
_JOIN_TIMEOUT = 5.0


class BackgroundServer:
    """A threaded Werkzeug server running ``app`` until ``stop()`` or the end of a ``with`` block.

    The socket is bound in the constructor, so ``port`` and ``url`` are known (and the port
    is taken) before the first request; ``port=0`` lets the OS pick a free one. Requests are
    served on daemon threads so that a request parked in a slow handler (the sandbox's
    ``hang`` fault) cannot keep the process alive.
    """

    def __init__(self, app: WSGIApplication, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._server = make_server(host, port, app, threaded=True)
        self._stopped = False
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"BackgroundServer-{host}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def stop(self) -> None:
        """Stop accepting requests and release the port. Safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._thread.join(_JOIN_TIMEOUT)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
