"""DynamoDB store: one table, items told apart by their keys. Only I/O here; botocore errors stay inside.

attempt     pk=ATTEMPT#<attempt_id>     sk=ATTEMPT                      TTL expires_at
used token  pk=TOKEN#<sha256 of token>  sk=TOKEN                        TTL expires_at
connection  pk=ORG#<organization_id>    sk=CONN#<connection>
audit       pk=ORG#<organization_id>    sk=AUDIT#<connection>#<version, 10 digits>
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import json
import logging
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ServiceUnavailable
from chalicelib.models import Attempt, AuditEvent, ConnectionRecord, Kind, Outcome, Status, Step
from chalicelib.store import StaleWrite
from chalicelib.zoho_token import ZohoClaims

logger = logging.getLogger(__name__)

_CONDITION_FAILED = {"ConditionalCheckFailedException", "TransactionCanceledException"}


class DynamoStore:
    def __init__(self, client: Any, table_name: str) -> None:
        """``client``: a boto3 DynamoDB client (injected; created by the wiring, never here)."""
        self._client = client
        self._table = table_name
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    # attempts -------------------------------------------------------------------------------
    def create_attempt(self, attempt: Attempt) -> None:
        item = {"pk": f"ATTEMPT#{attempt.attempt_id}", "sk": "ATTEMPT", **_plain(attempt)}
        with self._errors():
            self._client.put_item(TableName=self._table, Item=self._dump(item), ConditionExpression="attribute_not_exists(pk)")

    def get_attempt(self, attempt_id: str, now: float) -> Attempt | None:
        # Strongly consistent: each step reads what the step before wrote a moment earlier (the
        # browser follows our redirect at once); an eventually consistent read may still see the
        # step before, and show "sign-in has not completed" or refuse a decision as stale.
        item = self._get(f"ATTEMPT#{attempt_id}", "ATTEMPT")
        if item is None:
            return None
        attempt = _attempt_from(item)
        return None if attempt.is_expired(now) else attempt

    def save_attempt(self, attempt: Attempt) -> None:
        item = self._dump({"pk": f"ATTEMPT#{attempt.attempt_id}", "sk": "ATTEMPT", **_plain(attempt), "write_id": _write_id()})
        try:
            with self._errors():
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="version = :expected",
                    ExpressionAttributeValues=self._dump({":expected": attempt.version - 1}),
                )
        except StaleWrite:
            # botocore retries a write whose reply was lost; the retry then fails its own condition.
            # If what is stored is exactly what we wrote (write_id is unique to this call, so a
            # concurrent writer of the same content does not count), the write did happen.
            stored = self._client.get_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True).get("Item")
            if stored != item:
                raise

    # used tokens ----------------------------------------------------------------------------
    def token_holder(self, token_hash: str, now: float) -> str | None:
        holder = self._get(f"TOKEN#{token_hash}", "TOKEN")
        if holder is None or int(holder["expires_at"]) <= now:
            return None
        return str(holder["attempt_id"])

    def claim_token(self, token_hash: str, attempt_id: str, expires_at: int, now: float) -> str:
        item = {"pk": f"TOKEN#{token_hash}", "sk": "TOKEN", "attempt_id": attempt_id, "expires_at": expires_at}
        try:
            with self._errors():
                self._client.put_item(
                    TableName=self._table,
                    Item=self._dump(item),
                    # An expired claim may be taken over: TTL deletes items late.
                    ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                    ExpressionAttributeValues=self._dump({":now": int(now)}),
                )
        except StaleWrite:
            holder = self._get(f"TOKEN#{token_hash}", "TOKEN")
            return str(holder["attempt_id"]) if holder else attempt_id
        return attempt_id

    # connections ----------------------------------------------------------------------------
    def get_connection(self, organization_id: str, connection: str) -> ConnectionRecord | None:
        item = self._get(f"ORG#{organization_id}", f"CONN#{connection}")
        return None if item is None else _connection_from(item)

    def save_connection(self, record: ConnectionRecord, audit: AuditEvent) -> None:
        pk = f"ORG#{record.organization_id}"
        if record.version == 1:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": self._dump({":expected": record.version - 1}),
            }
        connection_item = {"pk": pk, "sk": f"CONN#{record.connection}", **_plain(record), "write_id": _write_id()}
        audit_item = {"pk": pk, "sk": f"AUDIT#{audit.connection}#{audit.version:010d}", **_plain(audit)}
        # The same token on botocore's retry of a transaction whose reply was lost makes it idempotent.
        token = hashlib.sha256(f"{pk}|{record.connection}|{record.version}|{audit.flow_id}|{record.status.value}".encode()).hexdigest()[:36]
        item = self._dump(connection_item)
        try:
            with self._errors():
                self._client.transact_write_items(
                    ClientRequestToken=token,
                    TransactItems=[
                        {"Put": {"TableName": self._table, "Item": item, **condition}},
                        {"Put": {"TableName": self._table, "Item": self._dump(audit_item), "ConditionExpression": "attribute_not_exists(pk)"}},
                    ],
                )
        except StaleWrite:
            # As in save_attempt: a retried transaction whose first try went through (for stores that
            # do not honour the request token). Stored exactly as intended means it happened.
            stored = self._client.get_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True).get("Item")
            if stored != item:
                raise

    def list_audit(self, organization_id: str, connection: str) -> list[AuditEvent]:
        events: list[AuditEvent] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": self._dump({":pk": f"ORG#{organization_id}", ":prefix": f"AUDIT#{connection}#"}),
            "ConsistentRead": True,
        }
        with self._errors():
            while True:
                page = self._client.query(**kwargs)
                events.extend(_audit_from(self._load(item)) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return events
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_due(self, now: float, limit: int) -> list[ConnectionRecord]:
        with self._errors():
            page = self._client.query(
                TableName=self._table,
                IndexName="outbox",
                KeyConditionExpression="outbox = :pending AND next_attempt_at <= :now",
                ExpressionAttributeValues=self._dump({":pending": "pending", ":now": int(now)}),
                Limit=limit,
            )
        return [_connection_from(self._load(item)) for item in page.get("Items", [])]

    def list_connections(self, limit: int, after: str | None = None) -> tuple[list[ConnectionRecord], str | None]:
        """A scan filtered to connection items: for the operator's listing, not for a request path."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(sk, :conn)",
            "ExpressionAttributeValues": self._dump({":conn": "CONN#"}),
        }
        records: list[ConnectionRecord] = []
        cursor = _decode_cursor(after) if after else None
        with self._errors():
            while len(records) < limit:
                if cursor:
                    kwargs["ExclusiveStartKey"] = cursor
                page = self._client.scan(**kwargs, Limit=max(limit * 4, 25))
                records.extend(_connection_from(self._load(item)) for item in page.get("Items", []))
                cursor = page.get("LastEvaluatedKey")
                if not cursor:
                    break
        if len(records) > limit:
            last = records[limit - 1]
            records = records[:limit]
            cursor = {"pk": {"S": f"ORG#{last.organization_id}"}, "sk": {"S": f"CONN#{last.connection}"}}
        return records, _encode_cursor(cursor) if cursor else None

    # plumbing -------------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        """Always strongly consistent: every read decides something about a write just made."""
        with self._errors():
            reply = self._client.get_item(TableName=self._table, Key=self._dump({"pk": pk, "sk": sk}), ConsistentRead=True)
        item = reply.get("Item")
        return None if item is None else self._load(item)

    def _dump(self, values: Mapping[str, Any]) -> dict[str, Any]:
        # None is left out rather than stored as NULL: the outbox index keys must be absent, not NULL.
        return {key: self._serializer.serialize(value) for key, value in values.items() if value is not None}

    def _load(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {key: _from_decimal(self._deserializer.deserialize(value)) for key, value in item.items()}

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _CONDITION_FAILED and _only_conditions_failed(exc):
                raise StaleWrite(code) from exc
            logger.error("dynamodb_error", extra={"code": code, "table": self._table})
            raise ServiceUnavailable() from exc
        except BotoCoreError as exc:
            logger.error("dynamodb_unreachable", extra={"error": type(exc).__name__, "table": self._table})
            raise ServiceUnavailable() from exc


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


# DynamoDB's limits on key attributes, in UTF-8 bytes: a longer key is a ValidationException (a 503).
_KEY_BYTES = {"pk": 2048, "sk": 1024}


def _decode_cursor(cursor: str) -> dict[str, Any]:
    """A cursor this store returned (a table key: {"pk": {"S": ...}, "sk": {"S": ...}} within
    DynamoDB's key limits); anything else raises ValueError."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValueError("not a cursor") from exc
    if not isinstance(key, dict) or set(key) != set(_KEY_BYTES) or not all(_is_key_value(key[name], limit) for name, limit in _KEY_BYTES.items()):
        raise ValueError("not a cursor")
    return key


def _is_key_value(value: object, max_bytes: int) -> bool:
    if not isinstance(value, dict) or set(value) != {"S"} or not isinstance(value["S"], str) or not value["S"]:
        return False
    try:
        return len(value["S"].encode("utf-8")) <= max_bytes
    except UnicodeEncodeError:
        return False


def _write_id() -> str:
    return secrets.token_hex(8)


def _only_conditions_failed(exc: ClientError) -> bool:
    """A cancelled transaction is a lost race only when every reason is a failed condition."""
    reasons = exc.response.get("CancellationReasons")
    if not reasons:
        return True
    return all(reason.get("Code") in ("None", "ConditionalCheckFailed", None) for reason in reasons)


def _from_decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {key: _from_decimal(inner) for key, inner in value.items()}
    if isinstance(value, (list, set)):
        return [_from_decimal(inner) for inner in value]
    return value


def _plain(record: Any) -> dict[str, Any]:
    """Dataclass -> dict of DynamoDB-storable values (enums as their values)."""
    plain = dataclasses.asdict(record)
    return {key: value.value if isinstance(value, enum.Enum) else value for key, value in plain.items()}


def _fields(cls: Any, item: Mapping[str, Any]) -> dict[str, Any]:
    """The dataclass's fields from an item; a field left out because it was None comes back as None."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in item:
            values[field.name] = item[field.name]
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            values[field.name] = None
    return values


def _attempt_from(item: Mapping[str, Any]) -> Attempt:
    values = _fields(Attempt, item)
    values["kind"] = Kind(values["kind"])
    values["step"] = Step(values["step"])
    values["claims"] = ZohoClaims(**values["claims"])
    if values.get("outcome") is not None:
        values["outcome"] = Outcome(values["outcome"])
    return Attempt(**values)


def _connection_from(item: Mapping[str, Any]) -> ConnectionRecord:
    values = _fields(ConnectionRecord, item)
    values["status"] = Status(values["status"])
    if values.get("desired") is not None:
        values["desired"] = Status(values["desired"])
    return ConnectionRecord(**values)


def _audit_from(item: Mapping[str, Any]) -> AuditEvent:
    return AuditEvent(**_fields(AuditEvent, item))
