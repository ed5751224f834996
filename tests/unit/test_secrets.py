"""Secret formats, the last good value when Secrets Manager is down, and key rotation."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.errors import ServiceUnavailable
from chalicelib.secrets import CACHE_SECONDS, MIN_REFRESH_INTERVAL_SECONDS, ROTATION_GRACE_SECONDS, SecretFormatError, Secrets, parse_extension_key

NOW = 1_790_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.value = NOW

    def now(self) -> float:
        return self.value


class FakeSecretsManager:
    """The boto3 client's ``get_secret_value``: the current version by default, or ``VersionStage``."""

    def __init__(self, versions: dict[str, tuple[str, float]]) -> None:
        self.versions = versions  # stage -> (value, created timestamp)
        self.down = False
        self.calls: list[str] = []

    def get_secret_value(self, SecretId: str, VersionStage: str = "AWSCURRENT") -> dict[str, Any]:
        self.calls.append(VersionStage)
        if self.down:
            raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")
        if VersionStage not in self.versions:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no such version"}}, "GetSecretValue")
        value, created = self.versions[VersionStage]
        return {"SecretString": value, "CreatedDate": dt.datetime.fromtimestamp(created, tz=dt.UTC)}


def current(value: str) -> FakeSecretsManager:
    return FakeSecretsManager({"AWSCURRENT": (value, NOW - 10 * 86400)})


def secrets_with(client: FakeSecretsManager, clock: FakeClock | None = None) -> Secrets:
    return Secrets(client, clock or FakeClock(), extension_secret_id="ext", zoho_signing_secret_id="ext", oidc_client_secret_id="oidc")


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
    client = current("the-key")
    secrets = secrets_with(client)
    assert secrets.extension_key() == "the-key"
    client.down = True
    assert secrets.extension_key() == "the-key"
    assert client.calls == ["AWSCURRENT"]  # cached: Secrets Manager was not even asked


def test_after_the_cache_age_the_key_is_read_again_and_the_last_good_one_serves_while_it_is_down() -> None:
    clock, client = FakeClock(), current("the-key")
    secrets = secrets_with(client, clock)
    assert secrets.extension_key() == "the-key"
    clock.value += CACHE_SECONDS
    client.down = True
    assert secrets.extension_key() == "the-key"
    client.down = False
    client.versions["AWSCURRENT"] = ("rotated-key", NOW)
    assert (secrets.extension_key(), secrets.extension_key()) == ("rotated-key", "rotated-key")
    assert client.calls == ["AWSCURRENT", "AWSCURRENT", "AWSCURRENT"]


def test_without_a_cached_key_secrets_manager_down_is_a_503() -> None:
    client = current("the-key")
    client.down = True
    with pytest.raises(ServiceUnavailable) as caught:
        secrets_with(client).extension_key()
    assert caught.value.status == 503


def test_a_missing_secret_is_a_503_and_is_asked_for_again_next_time() -> None:
    client = FakeSecretsManager({})
    secrets = secrets_with(client)
    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            secrets.extension_key()
    assert client.calls == ["AWSCURRENT", "AWSCURRENT"]


def test_refresh_returns_current_and_recent_previous_key() -> None:
    client = FakeSecretsManager({"AWSCURRENT": ("new-key", NOW - 60), "AWSPREVIOUS": ("old-key", NOW - 86400)})
    assert secrets_with(client).refreshed_zoho_verification_keys() == ["new-key", "old-key"]


def test_previous_key_is_not_accepted_after_the_grace_window() -> None:
    client = FakeSecretsManager({"AWSCURRENT": ("new-key", NOW - ROTATION_GRACE_SECONDS - 1), "AWSPREVIOUS": ("old-key", NOW - 86400)})
    secrets = secrets_with(client)
    assert secrets.refreshed_zoho_verification_keys() == ["new-key"]
    assert client.calls == ["AWSCURRENT"]


def test_a_refresh_puts_the_new_key_in_the_cache_with_one_call() -> None:
    client = FakeSecretsManager({"AWSCURRENT": ("old-key", NOW - 10 * 86400)})
    secrets = secrets_with(client)
    assert secrets.zoho_verification_keys() == ["old-key"]
    client.versions["AWSCURRENT"] = ("new-key", NOW - 10 * 86400)
    assert secrets.refreshed_zoho_verification_keys() == ["new-key"]
    assert secrets.zoho_verification_keys() == ["new-key"]
    assert client.calls == ["AWSCURRENT", "AWSCURRENT"]


def test_refresh_is_rate_limited_so_forged_tokens_cannot_flood_secrets_manager() -> None:
    clock = FakeClock()
    client = current("k")
    secrets = secrets_with(client, clock)
    assert secrets.refreshed_zoho_verification_keys() == ["k"]
    assert secrets.refreshed_zoho_verification_keys() is None
    clock.value += MIN_REFRESH_INTERVAL_SECONDS
    assert secrets.refreshed_zoho_verification_keys() == ["k"]
    assert client.calls == ["AWSCURRENT", "AWSCURRENT"]


def test_no_previous_version_before_the_first_rotation() -> None:
    client = FakeSecretsManager({"AWSCURRENT": ("k", NOW - 5)})
    assert secrets_with(client).refreshed_zoho_verification_keys() == ["k"]
    assert client.calls == ["AWSCURRENT", "AWSPREVIOUS"]


def test_a_binary_secret_is_named_as_such_on_the_hot_path_and_at_a_refresh() -> None:
    class BinarySecretsManager(FakeSecretsManager):
        def get_secret_value(self, SecretId: str, VersionStage: str = "AWSCURRENT") -> dict[str, Any]:
            reply = super().get_secret_value(SecretId, VersionStage)
            return {"SecretBinary": reply.pop("SecretString").encode(), **reply}

    message = "Secret ext holds binary data; store the Secret Key as text (SecretString)."
    with pytest.raises(SecretFormatError, match=re.escape(message)):
        secrets_with(BinarySecretsManager({"AWSCURRENT": ("k", NOW - 86400)})).extension_key()
    with pytest.raises(SecretFormatError, match=re.escape(message)):
        secrets_with(BinarySecretsManager({"AWSCURRENT": ("k", NOW - 86400)})).refreshed_zoho_verification_keys()
