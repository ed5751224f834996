"""Where the third party plugs in its own reaction to a connection being made or revoked.

Replace ``LoggingHooks`` in ``chalicelib/bootstrap.py`` with your own class. ``before_revoke`` runs
*before* Zoho is told ``mark_as_revoked`` (the protocol requires that our side has deleted or
invalidated what it holds for the org first); if it raises, Zoho is not told and the person sees a
retry-able page. ``after_connect`` runs once Zoho has confirmed a connection.
"""

from __future__ import annotations

import logging
from typing import Protocol

from chalicelib.models import ConnectionRecord

logger = logging.getLogger(__name__)


class ConnectionHooks(Protocol):
    def after_connect(self, record: ConnectionRecord) -> None: ...

    def before_revoke(self, organization_id: str, connection: str, record: ConnectionRecord | None) -> None: ...


class LoggingHooks:
    """Default: the service's own record is the only thing held, and the flow invalidates it."""

    def after_connect(self, record: ConnectionRecord) -> None:
        logger.info("hook_after_connect", extra={"organization_id": record.organization_id, "connection": record.connection})

    def before_revoke(self, organization_id: str, connection: str, record: ConnectionRecord | None) -> None:
        logger.info("hook_before_revoke", extra={"organization_id": organization_id, "connection": connection})
