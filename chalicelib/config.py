"""Configuration: read from the environment in this one place and validated before first use."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.datacenters import BUILT_IN_DATA_CENTERS, DataCenters, origin_of

_API_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


class ConfigError(Exception):
    """The deployment is misconfigured; the message names the variable and what is wrong."""


@dataclass(frozen=True)
class Settings:
    extension_api_name: str
    extension_secret_id: str
    zoho_signing_secret_id: str
    connection_api_names: tuple[str, ...]
    connections_table: str
    data_centers: DataCenters
    oidc_issuer: str
    oidc_client_id: str
    oidc_client_secret_id: str
    public_base_url: str | None
    product_name: str = "this service"
    event_bus_name: str | None = None
    metrics_service: str = "zoho-external-connections"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build and validate the settings; raise ConfigError naming the first bad variable."""
        extension_secret_id = _required(environ, "EXTENSION_SECRET_ID")
        return cls(
            extension_api_name=_api_name(environ, "EXTENSION_API_NAME"),
            extension_secret_id=extension_secret_id,
            zoho_signing_secret_id=_optional(environ, "ZOHO_SIGNING_SECRET_ID") or extension_secret_id,
            connection_api_names=_api_name_list(environ, "CONNECTION_API_NAMES"),
            connections_table=_required(environ, "CONNECTIONS_TABLE"),
            data_centers=_data_centers(environ),
            oidc_issuer=_absolute_url(environ, "OIDC_ISSUER", required=True) or "",
            oidc_client_id=_required(environ, "OIDC_CLIENT_ID"),
            oidc_client_secret_id=_required(environ, "OIDC_CLIENT_SECRET_ID"),
            public_base_url=_absolute_url(environ, "PUBLIC_BASE_URL", required=False),
            product_name=_optional(environ, "PRODUCT_NAME") or "this service",
            event_bus_name=_optional(environ, "EVENT_BUS_NAME"),
            metrics_service=_optional(environ, "METRICS_SERVICE") or "zoho-external-connections",
        )


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _required(environ: Mapping[str, str], name: str) -> str:
    value = _optional(environ, name)
    if value is None:
        raise ConfigError(f"{name} is not set: it is required (see docs/configuration.md).")
    return value


def _api_name(environ: Mapping[str, str], name: str) -> str:
    value = _required(environ, name)
    if not _API_NAME.match(value):
        raise ConfigError(f"{name} must be an API name such as pu_com_xxxx (letters, digits, '_', '.', '-'), got {value!r}.")
    return value


def _api_name_list(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in _required(environ, name).split(",") if part.strip())
    bad = [part for part in names if not _API_NAME.match(part)]
    if not names or bad:
        raise ConfigError(f"{name} must be a comma-separated list of connection API names such as ec__com_xxxx, got {environ[name]!r}.")
    return names


def _absolute_url(environ: Mapping[str, str], name: str, *, required: bool) -> str | None:
    value = _required(environ, name) if required else _optional(environ, name)
    if value is None:
        return None
    # origin_of first: urlsplit raises ValueError on some garbled URLs ("http://[::1").
    if origin_of(value) is None or urlsplit(value).query or urlsplit(value).fragment:
        raise ConfigError(f"{name} must be an absolute http(s) URL without query or fragment, got {value!r}.")
    return value.rstrip("/")


def _data_centers(environ: Mapping[str, str]) -> DataCenters:
    base_urls: Mapping[str, str] = BUILT_IN_DATA_CENTERS
    raw = _optional(environ, "ZOHO_DATA_CENTERS")
    if raw is not None:
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f'ZOHO_DATA_CENTERS must be a JSON object {{"<dc>": "<base URL>"}}: {exc}.') from exc
        if not isinstance(parsed, dict) or not parsed:
            raise ConfigError('ZOHO_DATA_CENTERS must be a non-empty JSON object {"<dc>": "<base URL>"}.')
        for dc, url in parsed.items():
            if not isinstance(url, str) or origin_of(url) is None or urlsplit(url).query:
                raise ConfigError(f"ZOHO_DATA_CENTERS[{dc!r}] must be an absolute http(s) base URL, got {url!r}.")
        base_urls = {str(dc): str(url).rstrip("/") for dc, url in parsed.items()}
    default = _optional(environ, "ZOHO_DEFAULT_DC") or "com"
    if default not in base_urls:
        raise ConfigError(f"ZOHO_DEFAULT_DC is {default!r}, which is not one of the data centres: {', '.join(sorted(base_urls))}.")
    return DataCenters(base_urls=base_urls, default=default)
