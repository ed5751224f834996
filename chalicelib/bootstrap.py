"""The one place that wires the service: settings, AWS clients, the store, secrets, Zoho and sign-in.

Built lazily on first use and kept for the life of the Lambda container (or the local process).
Nothing here runs at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib import logs
from chalicelib.clock import SystemClock
from chalicelib.config import Settings
from chalicelib.flow import Flows
from chalicelib.hooks import LoggingHooks

if TYPE_CHECKING:
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


class LazySession:
    """One ``requests.Session`` for Zoho and the sign-in provider (its connections are reused), made
    on first use: ``requests`` is not imported on a cold start that calls neither (the Revoke URL)."""

    def __init__(self) -> None:
        self._made: Any = None
        self._making = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        made = self._made
        if made is None:
            with self._making:
                if self._made is None:
                    import requests

                    self._made = requests.Session()
                made = self._made
        return getattr(made, name)


def reset() -> None:
    """Forget the wiring (tests that change the environment)."""
    global _flows
    with _lock:
        _flows = None


def build(environ: Mapping[str, str], **overrides: Any) -> Flows:
    """Wire real collaborators from ``environ``; ``overrides`` replace any of Flows' fields (tests)."""
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config

    from chalicelib.confirmation import Confirmer
    from chalicelib.events import EventBridgePublisher, NoEvents
    from chalicelib.oidc import OidcClient
    from chalicelib.secrets import Secrets
    from chalicelib.store.dynamodb import DynamoStore
    from chalicelib.telemetry import EmfTelemetry
    from chalicelib.zoho_api import ZohoClient

    settings = overrides.pop("settings", None) or Settings.from_environ(environ)
    # AWS_ENDPOINT_URL (local stack, tests) is honoured by boto3 itself.
    session = boto3.session.Session()
    aws_config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    secretsmanager = session.client("secretsmanager", config=aws_config)
    clock = overrides.get("clock") or SystemClock()
    secrets = Secrets(
        SecretsProvider(boto3_client=secretsmanager),
        secretsmanager,
        clock,
        extension_secret_id=settings.extension_secret_id,
        zoho_signing_secret_id=settings.zoho_signing_secret_id,
        oidc_client_secret_id=settings.oidc_client_secret_id,
    )
    http: Any = LazySession()  # a requests.Session to ZohoClient and OidcClient
    store = overrides.get("store") or DynamoStore(session.client("dynamodb", config=aws_config), settings.connections_table)
    telemetry = overrides.get("telemetry") or EmfTelemetry(settings.metrics_service)
    zoho = overrides.pop("zoho", None) or ZohoClient(http, settings.data_centers)
    hooks = overrides.pop("hooks", None) or LoggingHooks()
    events = overrides.pop("events", None) or (
        EventBridgePublisher(session.client("events", config=aws_config), settings.event_bus_name) if settings.event_bus_name else NoEvents()
    )
    parts: dict[str, Any] = {
        "settings": settings,
        "store": store,
        "secrets": secrets,
        "oidc": OidcClient(issuer=settings.oidc_issuer, client_id=settings.oidc_client_id, client_secret=secrets.oidc_client_secret, session=http),
        "clock": clock,
        "telemetry": telemetry,
        "confirmer": Confirmer(
            store=store,
            secrets=secrets,
            zoho=zoho,
            clock=clock,
            telemetry=telemetry,
            hooks=hooks,
            events=events,
            extension_api_name=settings.extension_api_name,
        ),
    }
    parts.update(overrides)
    return Flows(**parts)
