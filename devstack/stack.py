"""The local stack: embedded AWS (moto server), the Zoho sandbox, a development OpenID Connect
provider, and the service under ``chalice local``, all on loopback, started and stopped together.

The service runs on ``localhost`` and everything else on ``127.0.0.1``: two sites to the browser,
so cookies and SameSite behave cross-site as they do between Zoho and a deployed service.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import boto3
import requests

from devstack.servers import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Ports:
    """0 = any free port (tests); ``make run`` uses fixed ones so the printed URL stays the same."""

    service: int = 0
    sandbox: int = 0
    oidc: int = 0
    aws: int = 0


@dataclass
class LocalStack:
    ports: Ports = field(default_factory=Ports)
    stage: str = "local"
    log_path: Path | None = None
    extension_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def __post_init__(self) -> None:
        self.stage_env: dict[str, str] = stage_environment(self.stage)
        self._cleanup: list[Any] = []
        self._service: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.aws_url = self.sandbox_url = self.oidc_url = self.service_url = ""
        self.table_name = ""
        self.oidc_client_id = ""

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, *, with_service: bool = True) -> Self:
        """Start everything; ``with_service=False`` leaves the service out (in-process tests run it)."""
        try:
            self._start_aws()
            self._start_oidc()
            self._start_sandbox()
            if with_service:
                self._start_service()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._service is not None:
            end_process(self._service)
        self._service = None
        for stop in reversed(self._cleanup):
            with contextlib.suppress(Exception):
                stop()
        self._cleanup.clear()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()

    # -- what tests and people use -------------------------------------------------------------------
    @property
    def connections(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.stage_env["CONNECTION_API_NAMES"].split(",") if name.strip())

    @property
    def extension_api_name(self) -> str:
        return self.stage_env["EXTENSION_API_NAME"]

    def aws_client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
        )

    def service_environment(self) -> dict[str, str]:
        """What ``chalice local`` gets on top of the stage's own variables in .chalice/config.json."""
        return {
            **DUMMY_AWS,
            "AWS_ENDPOINT_URL": self.aws_url,
            "ZOHO_DATA_CENTERS": json.dumps({"com": self.sandbox_url}),
            "OIDC_ISSUER": self.oidc_url,
            "OIDC_CLIENT_ID": self.oidc_client_id,
            "PUBLIC_BASE_URL": self.service_url,
        }

    # -- components ----------------------------------------------------------------------------------
    def _start_aws(self) -> None:
        moto, self.aws_url = start_aws_server(self.ports.aws)
        self._cleanup.append(lambda: end_process(moto))
        self.table_name = create_resources(self.aws_client("cloudformation"), self.stage_env["CONNECTIONS_TABLE"])
        if self.table_name != self.stage_env["CONNECTIONS_TABLE"]:
            raise RuntimeError(f"infra/resources.yaml created table {self.table_name!r}, config expects {self.stage_env['CONNECTIONS_TABLE']!r}")
        self.aws_client("secretsmanager").create_secret(Name=self.stage_env["EXTENSION_SECRET_ID"], SecretString=self.extension_secret_key)

    def _start_oidc(self) -> None:
        from devstack import oidc_provider

        server = BackgroundServer(oidc_provider.create_app(), host="127.0.0.1", port=self.ports.oidc)
        self._cleanup.append(server.stop)
        self.oidc_url = server.url
        self.service_url = f"http://localhost:{self.ports.service or _free_port()}"
        client_id, client_secret = oidc_provider.register_client(self.oidc_url, [f"{self.service_url}/auth/callback"])
        self.oidc_client_id = client_id
        self.aws_client("secretsmanager").create_secret(Name=self.stage_env["OIDC_CLIENT_SECRET_ID"], SecretString=client_secret)

    def _start_sandbox(self) -> None:
        from devstack.zoho_sandbox import SandboxConfig, create_app

        port = self.ports.sandbox or _free_port()
        config = SandboxConfig(
            secret_key=self.extension_secret_key,
            extension_api_name=self.extension_api_name,
            connections=self.connections,
            service_base_url=self.service_url,
            # Opened as http://localhost:<port>/, the page moves to the allowlisted origin, the only
            # one the service posts its messages to.
            public_url=f"http://127.0.0.1:{port}",
        )
        server = BackgroundServer(create_app(config), host="127.0.0.1", port=port)
        self._cleanup.append(server.stop)
        self.sandbox_url = server.url

    def _start_service(self) -> None:
        port = self.service_url.rsplit(":", 1)[1]
        chalice = Path(sys.executable).with_name("chalice")
        command = [str(chalice), "local", "--no-autoreload", "--stage", self.stage, "--host", "127.0.0.1", "--port", port]
        if self.log_path is not None:
            self._log = self.log_path.open("wb")  # this run's log only: never lines an older version wrote
        env = {**os.environ, **self.service_environment(), "PYTHONUNBUFFERED": "1"}
        self._service = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self._service.stdout is not None
        threading.Thread(target=_copy_redacted, args=(self._service.stdout, self._log), daemon=True).start()
        self._wait_for_service()

    def _wait_for_service(self) -> None:
        assert self._service is not None
        _wait_until_up(self._service, self.service_url.replace("localhost", "127.0.0.1") + "/health", "chalice local", self.log_path)


# chalice local logs every request line, query string included: keep tokens, codes and states out.
_SENSITIVE = re.compile(rb"(?i)\b(jwttoken|code|state|code_verifier|nonce)([^=&\s\"]*)=[^&\s\"]+")
_JWT_SHAPED = re.compile(rb"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


def _copy_redacted(source: IO[bytes], sink: IO[bytes] | None) -> None:
    for line in source:
        if sink is not None:
            sink.write(_JWT_SHAPED.sub(b"[redacted-jwt]", _SENSITIVE.sub(rb"\1\2=[redacted]", line)))
            sink.flush()


def start_aws_server(port: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    """moto server in its own process, serving one request at a time (devstack/aws_server.py says
    why); its backends are per process, so two servers never share state. Returns it and its URL."""
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.aws_server", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(process, f"{url}/moto-api/", "moto server")
    except BaseException:
        end_process(process)
        raise
    return process, url


def _wait_until_up(process: subprocess.Popen[bytes], url: str, name: str, log: Path | None = None) -> None:
    """Poll ``url`` until it answers 200; fail early, with a clear message, if the process dies."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}" + (f"; see {log}" if log else ""))
        with contextlib.suppress(requests.RequestException):
            reply = requests.get(url, timeout=1)
            if reply.status_code == 200:
                return
            raise RuntimeError(f"{name} is not healthy: HTTP {reply.status_code} {reply.text[:300]}")
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer within {START_TIMEOUT:.0f} s")


def end_process(process: subprocess.Popen[bytes]) -> None:
    """End a process this stack started (by its own handle, never by name)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def create_resources(cloudformation: Any, table_name: str, stack_name: str = "zoho-external-connections") -> str:
    """Create ``infra/resources.yaml`` as a stack; return its ConnectionsTableName output."""
    template = (ROOT / "infra" / "resources.yaml").read_text()
    cloudformation.create_stack(StackName=stack_name, TemplateBody=template, Parameters=[{"ParameterKey": "TableName", "ParameterValue": table_name}])
    cloudformation.get_waiter("stack_create_complete").wait(StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    outputs = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["Outputs"]
    return next(output["OutputValue"] for output in outputs if output["OutputKey"] == "ConnectionsTableName")


def stage_environment(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"][stage]["environment_variables"])


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
