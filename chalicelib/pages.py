"""What a flow answers (a page or a redirect), HTML rendering with autoescaping, and the security
headers every answer carries."""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")


@dataclass(frozen=True)
class CookieChange:
    """Set (``value``) or clear (``value=None``) the attempt cookie."""

    value: str | None
    max_age: int = 0


@dataclass(frozen=True)
class Page:
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200
    cookie: CookieChange | None = None


@dataclass(frozen=True)
class Redirect:
    location: str
    cookie: CookieChange | None = None
    status: int = 303


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # Imported on the first page rendered: a request that only redirects (the Connection and Revoke
    # URLs, the sign-in callback) never pays for Jinja2 on a cold start.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def render(page: Page, *, nonce: str, product_name: str) -> str:
    template = _environment().get_template(page.template)
    return template.render(nonce=nonce, product_name=product_name, **page.context)


def security_headers(nonce: str | None) -> dict[str, str]:
    """Headers for every answer: nothing cached, no referrer (the Connection URL carries a token),
    no framing, scripts and styles only with this response's nonce."""
    scripts = f"'nonce-{nonce}'" if nonce else "'none'"
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {scripts}; style-src {scripts}; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "unsafe-none",
    }
