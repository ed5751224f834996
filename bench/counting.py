"""Count what a request costs outside the process: AWS API calls (botocore ``before-call`` /
``after-call`` event hooks on every client the service creates, with DynamoDB request units
estimated from item sizes), and HTTP requests to other hosts (Zoho, the sign-in provider)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any
from urllib.parse import urlsplit


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (the documented rules, closely enough)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return len(inner)
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + _value_size(v) + 1 for name, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    return len(str(inner))


class Calls:
    """Counters for one process. ``step`` names where calls are booked (one flow step at a time)."""

    def __init__(self) -> None:
        self.step = "setup"
        self.by_step: dict[str, Counter[str]] = {}
        self.units: dict[str, Counter[str]] = {}
        self.log_bytes: Counter[str] = Counter()

    def _book(self, name: str, n: int = 1) -> None:
        self.by_step.setdefault(self.step, Counter())[name] += n

    def _units(self, kind: str, amount: float) -> None:
        self.units.setdefault(self.step, Counter())[kind] += amount  # type: ignore[assignment]

    # -- botocore hooks ---------------------------------------------------------------------------
    def _params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """``before-parameter-build``: keep the API parameters for the hooks after it."""
        context["bench_params"] = params

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        """``before-call``: one API call (botocore's own retries of it are not counted)."""
        service = model.service_model.service_id.hyphenize()
        self._book(f"{service}:{model.name}")
        if service == "dynamodb":
            self._write_units(model.name, context.get("bench_params") or {})

    def _after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if model.service_model.service_id.hyphenize() != "dynamodb" or model.name != "GetItem":
            return
        size = item_size(parsed.get("Item") or {})
        strong = bool((context.get("bench_params") or {}).get("ConsistentRead"))
        # 1 RRU per 4 KB strongly consistent (half that eventually consistent); a miss costs the minimum.
        self._units("RRU", max(1, math.ceil(size / 4096)) * (1.0 if strong else 0.5))

    def _write_units(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "PutItem":
            self._units("WRU", max(1, math.ceil(item_size(params.get("Item", {})) / 1024)))
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                ((_, body),) = entry.items()
                size = item_size(body["Item"]) if "Item" in body else 1
                self._units("WRU", 2 * max(1, math.ceil(size / 1024)))  # transactional writes cost twice
        elif operation in ("UpdateItem", "DeleteItem"):
            self._units("WRU", 1)

    def watch_client(self, client: Any) -> Any:
        events = client.meta.events
        events.register("before-parameter-build.*.*", self._params)
        events.register("before-call.*.*", self._before_call)
        events.register("after-call.*.*", self._after_call)
        return client

    # -- install ----------------------------------------------------------------------------------
    def install(self, hosts: dict[str, str]) -> None:
        """Watch every boto3 client created from now on, and every HTTP request made with ``requests``,
        a ``urllib3.PoolManager`` (the provider's discovery) or ``urllib``; ``hosts`` names the netlocs of interest (netloc -> label, e.g. the Zoho sandbox)."""
        import urllib.request

        import boto3
        import requests
        import urllib3

        calls = self
        original_client = boto3.session.Session.client

        def client(session: Any, *args: Any, **kwargs: Any) -> Any:
            return calls.watch_client(original_client(session, *args, **kwargs))

        boto3.session.Session.client = client  # type: ignore[method-assign]

        original_send = requests.Session.send

        def send(session: Any, request: Any, **kwargs: Any) -> Any:
            calls._http(hosts, request.method, request.url)
            return original_send(session, request, **kwargs)

        requests.Session.send = send  # type: ignore[method-assign]

        original_open = urllib.request.OpenerDirector.open

        def open_url(opener: Any, url: Any, *args: Any, **kwargs: Any) -> Any:  # PyJWKClient fetches the JWKS with urllib
            target = url.full_url if hasattr(url, "full_url") else str(url)
            calls._http(hosts, url.get_method() if hasattr(url, "get_method") else "GET", target)
            return original_open(opener, url, *args, **kwargs)

        urllib.request.OpenerDirector.open = open_url  # type: ignore[method-assign]

        original_urlopen = urllib3.PoolManager.urlopen  # requests goes through its pools, not this

        def urlopen(manager: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            calls._http(hosts, method, url)
            return original_urlopen(manager, method, url, *args, **kwargs)

        urllib3.PoolManager.urlopen = urlopen  # type: ignore[method-assign]

    def _http(self, hosts: dict[str, str], method: str, url: str) -> None:
        parts = urlsplit(url)
        label = hosts.get(parts.netloc)
        if label is None:
            return
        path = parts.path
        if label == "oidc":
            path = {"/.well-known/openid-configuration": "discovery"}.get(path, path.rsplit("/", 1)[-1] or path)
        else:
            path = "PUT mark" if method == "PUT" else f"{method} {path}"
        self._book(f"{label}:{path}")

    def count_output(self, stream_name: str, text: str) -> None:
        self.log_bytes[self.step] += len(text.encode())


class CountingStream:
    """A text stream that counts what is written (the service's JSON logs, EMF metrics) and drops it."""

    def __init__(self, calls: Calls, name: str) -> None:
        self._calls = calls
        self._name = name

    def write(self, text: str) -> int:
        self._calls.count_output(self._name, text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False
