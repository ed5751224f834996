"""Fixtures for the dev-only apps: a sandbox on a fake clock, and a live OIDC provider."""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest
from devstack_support import CONNECTION, EXTENSION_API_NAME, OTHER_CONNECTION, SECRET_KEY, SERVICE_BASE_URL, FakeClock
from flask.testing import FlaskClient

from devstack import oidc_provider
from devstack.servers import BackgroundServer
from devstack.zoho_sandbox import SandboxConfig, SandboxState, create_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox_config(clock: FakeClock) -> SandboxConfig:
    return SandboxConfig(
        secret_key=SECRET_KEY,
        extension_api_name=EXTENSION_API_NAME,
        connections=(CONNECTION, OTHER_CONNECTION),
        service_base_url=SERVICE_BASE_URL,
        clock=clock,
    )


@pytest.fixture
def sandbox_app(sandbox_config: SandboxConfig) -> flask.Flask:
    return create_app(sandbox_config)


@pytest.fixture
def sandbox(sandbox_app: flask.Flask) -> FlaskClient:
    return sandbox_app.test_client()


@pytest.fixture
def sandbox_state(sandbox_app: flask.Flask) -> SandboxState:
    state = sandbox_app.extensions["zoho_sandbox"]
    assert isinstance(state, SandboxState)
    return state


@pytest.fixture(scope="module")
def oidc_server() -> Iterator[BackgroundServer]:
    with BackgroundServer(oidc_provider.create_app()) as server:
        yield server
