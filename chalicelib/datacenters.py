"""Zoho data centres: the only hosts we ever call and the only origins we ever post a message to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

BUILT_IN_DATA_CENTERS: Mapping[str, str] = {
    "com": "https://books.zoho.com",
    "eu": "https://books.zoho.eu",
    "in": "https://books.zoho.in",
    "com.au": "https://books.zoho.com.au",
    "jp": "https://books.zoho.jp",
    "ca": "https://books.zohocloud.ca",
    "sa": "https://books.zoho.sa",
    "uk": "https://books.zoho.uk",
    "com.cn": "https://books.zoho.com.cn",
}


def origin_of(url: str) -> str | None:
    """Return ``scheme://host[:port]`` of an absolute http(s) URL, lower-cased, or None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError on a garbled port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets in an origin
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}[parts.scheme]
    suffix = f":{port}" if port is not None and port != default_port else ""
    return f"{parts.scheme}://{host}{suffix}"


@dataclass(frozen=True)
class DataCenters:
    """The allowlist of data centres: ``dc`` -> base URL of Zoho's API (and of the Zoho page)."""

    base_urls: Mapping[str, str]
    default: str

    def base_url(self, dc: str) -> str:
        """Base URL of ``dc``; a dc not in the allowlist falls back to the default one."""
        return self.base_urls.get(dc, self.base_urls[self.default]).rstrip("/")

    def origin(self, dc: str) -> str:
        origin = origin_of(self.base_url(dc))
        assert origin is not None, "validated at configuration time"
        return origin

    def from_request(self, referer: str | None, origin: str | None) -> str:
        """The caller's data centre, told only by an allowlisted ``Origin`` or ``Referer``.

        Request input only *selects* an entry of the allowlist; it never becomes a host.
        """
        for candidate in (origin, referer):
            if not candidate:
                continue
            candidate_origin = origin_of(candidate)
            for dc in self.base_urls:
                if candidate_origin is not None and candidate_origin == self.origin(dc):
                    return dc
        return self.default
