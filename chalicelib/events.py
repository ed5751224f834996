"""Confirmed connects and revokes, published to Amazon EventBridge so the rest of the third party's
system can react (optional: ``EVENT_BUS_NAME``). Zoho has already confirmed when this runs, so a
publishing failure is logged and counted, never shown to the person."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from chalicelib.models import ConnectionRecord, Status

logger = logging.getLogger(__name__)

SOURCE = "zoho-external-connections"
DETAIL_TYPES = {Status.CONNECTED: "Zoho Connection Connected", Status.REVOKED: "Zoho Connection Revoked"}


class EventPublisher(Protocol):
    def publish(self, record: ConnectionRecord) -> None: ...


class NoEvents:
    def publish(self, record: ConnectionRecord) -> None:
        return None


def event_detail(record: ConnectionRecord) -> dict[str, Any]:
    """The event's ``detail``: what a subscriber needs, nothing secret."""
    return {
        "organization_id": record.organization_id,
        "organization_name": record.organization_name,
        "connection": record.connection,
        "status": record.status.value,
        "subject": record.subject,
        "zoho_user_id": record.zoho_user_id,
        "data_center": record.dc,
        "confirmed_at": record.confirmed_at,
        "version": record.version,
    }


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, record: ConnectionRecord) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        entry = {"Source": SOURCE, "DetailType": DETAIL_TYPES[record.status], "Detail": json.dumps(event_detail(record)), "EventBusName": self._bus_name}
        try:
            reply = self._client.put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as exc:
            logger.error("event_not_published", extra={"organization_id": record.organization_id, "error": type(exc).__name__})
            return
        if reply.get("FailedEntryCount"):
            logger.error("event_not_published", extra={"organization_id": record.organization_id, "error": str(reply.get("Entries"))[:300]})
