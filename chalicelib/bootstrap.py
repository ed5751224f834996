"""The one place that wires the service: settings, AWS clients, the store, secrets, Zoho and sign-in.

Built lazily on first use and kept for the life of the Lambda container (or the local process).
Nothing here runs at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib import logs
from chalicelib.clock import SystemClock
from chalicelib.config import Settings
from chalicelib.flow import Flows

if TYPE_CHECKING:
    from chalicelib.confirmation import Confirmer
    from chalicelib.oidc import OidcClient
    from chalicelib.reconcile import Reconciler

_lock = threading.Lock()
_flows: Flows | None = None


def flows() -> Flows:
    global _flows
    with _lock:
        if _flows is None:
            logs.configure()
            _flows = build(os.environ)
        return _flows


def ready() -> Flows | None:
    """The wiring if it has been built (error paths must not build it just to count a metric)."""
    return _flows


def reconciler() -> Reconciler:
    from chalicelib.reconcile import Reconciler

    wired = flows()
    return Reconciler(wired.store, wired.confirmer, wired.clock)


class Lazy:
    """A collaborator made on first use, then kept: the modules behind it load only when a request
    needs them. A Revoke URL request calls neither Zoho nor the sign-in provider, so a cold start
    that serves one never imports ``requests``, Authlib or the confirmation path."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None
        self._making = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        made = self._made
        if made is None:
            with self._making:
                if self._made is None:
                    self._made = self._make()
                made = self._made
        return getattr(made, name)


def _http_session() -> Any:
    import requests

    return requests.Session()


def reset() -> None:
    """Forget the wiring (tests that change the environment)."""
    global _flows
    with _lock:
        _flows = None


def build(environ: Mapping[str, str], **overrides: Any) -> Flows:
    """Wire real collaborators from ``environ``; ``overrides`` replace any of Flows' fields (tests)."""
    import boto3
    from botocore.config import Config

    from chalicelib.secrets import Secrets
    from chalicelib.store.dynamodb import DynamoStore
    from chalicelib.telemetry import EmfTelemetry

    settings = overrides.pop("settings", None) or Settings.from_environ(environ)
    # AWS_ENDPOINT_URL (local stack, tests) is honoured by boto3 itself.
    session = boto3.session.Session()
    aws_config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    secretsmanager = session.client("secretsmanager", config=aws_config)
    clock = overrides.get("clock") or SystemClock()
    secrets = Secrets(
        secretsmanager,
        clock,
        extension_secret_id=settings.extension_secret_id,
        zoho_signing_secret_id=settings.zoho_signing_secret_id,
        oidc_client_secret_id=settings.oidc_client_secret_id,
    )
    http = Lazy(_http_session)  # one requests.Session for Zoho and the provider: connections are reused
    store = overrides.get("store") or DynamoStore(session.client("dynamodb", config=aws_config), settings.connections_table)
    telemetry = overrides.get("telemetry") or EmfTelemetry(settings.metrics_service)
    zoho, hooks, events = overrides.pop("zoho", None), overrides.pop("hooks", None), overrides.pop("events", None)

    def sign_in_client() -> OidcClient:
        from chalicelib.oidc import OidcClient

        return OidcClient(issuer=settings.oidc_issuer, client_id=settings.oidc_client_id, client_secret=secrets.oidc_client_secret, session=http)  # type: ignore[arg-type]

    def confirmer() -> Confirmer:
        from chalicelib.confirmation import Confirmer
        from chalicelib.events import EventBridgePublisher, NoEvents
        from chalicelib.hooks import LoggingHooks
        from chalicelib.zoho_api import ZohoClient

        return Confirmer(
            store=store,
            secrets=secrets,
            zoho=zoho or ZohoClient(http, settings.data_centers),  # type: ignore[arg-type]
            clock=clock,
            telemetry=telemetry,
            hooks=hooks or LoggingHooks(),
            events=events
            or (EventBridgePublisher(session.client("events", config=aws_config), settings.event_bus_name) if settings.event_bus_name else NoEvents()),
            extension_api_name=settings.extension_api_name,
        )

    parts: dict[str, Any] = {
        "settings": settings,
        "store": store,
        "secrets": secrets,
        "oidc": Lazy(sign_in_client),
        "clock": clock,
        "telemetry": telemetry,
        "confirmer": Lazy(confirmer),
    }
    parts.update(overrides)
    return Flows(**parts)
