"""A moto server of our own on loopback for the deploy rehearsal (never the shared local stack's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from devstack.stack import end_process, start_aws_server

REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


class Moto:
    def __init__(self, url: str) -> None:
        self.url = url

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")

    def environment(self) -> dict[str, str]:
        """What a subprocess (chalice deploy) needs to talk to this server and nothing else."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.url}

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=5).raise_for_status()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    process, url = start_aws_server()
    try:
        yield Moto(url)
    finally:
        end_process(process)


@pytest.fixture
def moto(moto_server: Moto) -> Moto:
    moto_server.reset()
    return moto_server
