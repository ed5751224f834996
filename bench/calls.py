"""AWS calls per flow step, counted (not timed) against moto server: DynamoDB operations with their
request units, Secrets Manager calls, Zoho calls and sign-in provider calls, on a cold container
(the wiring built by the step) and a warm one (built by an earlier flow). Also the step's wall time
against the local stack and the bytes of logs and metrics it writes. Prints one ``BENCH {json}``."""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.counting import Calls, CountingStream

WARM_REPEATS = int(os.environ.get("BENCH_FLOW_REPEATS", "5"))


def main() -> None:
    calls = Calls()
    calls.install({urlsplit(os.environ["BENCH_SANDBOX_URL"]).netloc: "zoho", urlsplit(os.environ["OIDC_ISSUER"]).netloc: "oidc"})
    out = sys.stdout
    sys.stdout = CountingStream(calls, "stdout")  # type: ignore[assignment]  # EMF metrics
    sys.stderr = CountingStream(calls, "stderr")  # type: ignore[assignment]  # JSON logs (handler made on first use)

    from app import app
    from chalicelib import bootstrap

    from bench import driver as flows

    browser, provider_sign_in, new_token = flows.from_environment(app)
    timings: dict[str, list[float]] = {}
    browser.before_step = lambda step: setattr(calls, "step", step)
    browser.on_step = lambda step, seconds: timings.setdefault(step, []).append(seconds * 1000)

    def sign_in(url: str) -> str:
        calls.step = "browser"  # the browser's own request to the provider is not the service's
        return provider_sign_in(url)

    orgs = [f"900{secrets.randbelow(10**9):09d}" for _ in range(WARM_REPEATS + 1)]
    bootstrap.reset()
    flows.connect(browser, new_token(orgs[0]), sign_in, prefix="connect.cold")
    for n, org in enumerate(orgs[1:]):
        flows.connect(browser, new_token(org), sign_in, prefix="connect.warm" if n == 0 else f"connect.warm{n}")
    bootstrap.reset()
    flows.revoke(browser, new_token(orgs[0]), prefix="revoke.cold")
    for n, org in enumerate(orgs[1:]):
        flows.revoke(browser, new_token(org), prefix="revoke.warm" if n == 0 else f"revoke.warm{n}")

    steps: dict[str, Any] = {}
    for step in [*calls.by_step, *timings]:
        parts = step.split(".")
        if len(parts) == 3 and parts[1] in ("cold", "warm") and step not in steps:
            counted = calls.by_step.get(step, Counter())
            steps[step] = {"calls": dict(sorted(counted.items())), "units": dict(calls.units.get(step, Counter())), "log_bytes": calls.log_bytes.get(step, 0)}
    warm_ms: dict[str, list[float]] = {}
    for step, values in timings.items():
        flow, container, leaf = step.split(".")
        if container.startswith("warm"):
            warm_ms.setdefault(f"{flow}.{leaf}", []).extend(values)
    result = {
        "steps": steps,
        "ms": {step: values[0] for step, values in timings.items() if step.split(".")[1] in ("cold", "warm")},
        "warm_median_ms": {step: statistics.median(values) for step, values in warm_ms.items()},
        "warm_repeats": WARM_REPEATS,
        "warm_counts_agree": _warm_counts_agree(calls),
    }
    out.write("BENCH " + json.dumps(result) + "\n")
    out.flush()


def _warm_counts_agree(calls: Calls) -> bool:
    """Every repeat of a warm flow made the same calls as the first warm one (the counts are stable)."""
    for step, counted in calls.by_step.items():
        parts = step.split(".")
        if len(parts) == 3 and parts[1].startswith("warm") and parts[1] != "warm" and counted != calls.by_step.get(f"{parts[0]}.warm.{parts[2]}"):
            return False
    return True


if __name__ == "__main__":
    main()
