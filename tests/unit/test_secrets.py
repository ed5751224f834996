"""Secret formats, the last good value when Secrets Manager is down, and key rotation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from chalicelib.errors import ServiceUnavailable
from chalicelib.secrets import MIN_REFRESH_INTERVAL_SECONDS, ROTATION_GRACE_SECONDS, SecretFormatError, Secrets, parse_extension_key

NOW = 1_790_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.value = NOW

    def now(self) -> float:
        return self.value


class FakeProvider:
    """Powertools' provider as the code uses it: ``get(name, max_age, force_fetch)``."""

    def __init__(self, values: dict[str, object]) -> None:
        self.values = values
        self.down = False
        self.calls: list[tuple[str, bool]] = []

    def get(self, name: str, max_age: int | None = None, transform: Any = None, force_fetch: bool = False, **_: Any) -> object:
        self.calls.append((name, force_fetch))
        if self.down:
            raise GetParameterError("EndpointConnectionError: could not connect")
        return self.values[name]


class FakeSecretsManager:
    def __init__(self, versions: dict[str, tuple[str, float]]) -> None:
        self.versions = versions  # stage -> (value, created timestamp)
        self.calls: list[str] = []

    def get_secret_value(self, SecretId: str, VersionStage: str) -> dict[str, Any]:
        self.calls.append(VersionStage)
        if VersionStage not in self.versions:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no such version"}}, "GetSecretValue")
        value, created = self.versions[VersionStage]
        return {"SecretString": value, "CreatedDate": dt.datetime.fromtimestamp(created, tz=dt.UTC)}


def secrets_with(provider: FakeProvider, client: Any = None, clock: FakeClock | None = None) -> Secrets:
    return Secrets(provider, client, clock or FakeClock(), extension_secret_id="ext", zoho_signing_secret_id="ext", oidc_client_secret_id="oidc")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("plain-key", "plain-key"),
        ("  padded-key \n", "padded-key"),
        ('{"secret_key": "json-key"}', "json-key"),
        (' {"secret_key": " spaced "} ', "spaced"),
    ],
)
def test_accepted_secret_formats(raw: str, key: str) -> None:
    assert parse_extension_key("ext", raw) == key


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Secret ext is empty; put the extension's Secret Key in it."),
        ("   ", "Secret ext is empty; put the extension's Secret Key in it."),
        (b"bytes", "Secret ext holds binary data; store the Secret Key as text (SecretString)."),
        ("{not json", 'Secret ext looks like JSON but does not parse; use the key as text or {"secret_key": "..."}.'),
        ('{"secret_key": ""}', 'Secret ext is JSON without a non-empty string "secret_key".'),
        ('{"key": "x"}', 'Secret ext is JSON without a non-empty string "secret_key".'),
        ('{"secret_key": 5}', 'Secret ext is JSON without a non-empty string "secret_key".'),
        ('{"secret_key": "\\ud800abc"}', "Secret ext is not valid Unicode text; store the Secret Key exactly as Zoho shows it."),
        ("key\ud800", "Secret ext is not valid Unicode text; store the Secret Key exactly as Zoho shows it."),
    ],
)
def test_malformed_secrets_fail_loudly_without_showing_the_value(raw: object, message: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        parse_extension_key("ext", raw)
    assert str(caught.value) == message


def test_a_cached_key_keeps_working_when_secrets_manager_is_down() -> None:
    provider = FakeProvider({"ext": "the-key"})
    secrets = secrets_with(provider)
    assert secrets.extension_key() == "the-key"
    provider.down = True
    assert secrets.extension_key() == "the-key"


def test_without_a_cached_key_secrets_manager_down_is_a_503() -> None:
    provider = FakeProvider({"ext": "the-key"})
    provider.down = True
    with pytest.raises(ServiceUnavailable) as caught:
        secrets_with(provider).extension_key()
    assert caught.value.status == 503


def test_refresh_returns_current_and_recent_previous_key() -> None:
    client = FakeSecretsManager({"AWSCURRENT": ("new-key", NOW - 60), "AWSPREVIOUS": ("old-key", NOW - 86400)})
    secrets = secrets_with(FakeProvider({"ext": "new-key"}), client)
    assert secrets.refreshed_zoho_verification_keys() == ["new-key", "old-key"]


def test_previous_key_is_not_accepted_after_the_grace_window() -> None:
    client = FakeSecretsManager({"AWSCURRENT": ("new-key", NOW - ROTATION_GRACE_SECONDS - 1), "AWSPREVIOUS": ("old-key", NOW - 86400)})
    secrets = secrets_with(FakeProvider({"ext": "new-key"}), client)
    assert secrets.refreshed_zoho_verification_keys() == ["new-key"]
    assert client.calls == ["AWSCURRENT"]


def test_refresh_is_rate_limited_so_forged_tokens_cannot_flood_secrets_manager() -> None:
    clock = FakeClock()
    client = FakeSecretsManager({"AWSCURRENT": ("k", NOW - 10 * 86400)})
    provider = FakeProvider({"ext": "k"})
    secrets = secrets_with(provider, client, clock)
    assert secrets.refreshed_zoho_verification_keys() == ["k"]
    assert secrets.refreshed_zoho_verification_keys() is None
    clock.value += MIN_REFRESH_INTERVAL_SECONDS
    assert secrets.refreshed_zoho_verification_keys() == ["k"]
    assert client.calls == ["AWSCURRENT", "AWSCURRENT"]
    assert provider.calls == [("ext", True), ("ext", True)]


def test_no_previous_version_before_the_first_rotation() -> None:
    client = FakeSecretsManager({"AWSCURRENT": ("k", NOW - 5)})
    assert secrets_with(FakeProvider({"ext": "k"}), client).refreshed_zoho_verification_keys() == ["k"]
