"""The warm bench still measures what it says: a short run of ``bench/warm.py`` (its own checks of
every reply and of the Zoho PUT count run inside it) and the web-overhead arithmetic on its output.
Nothing here looks at how long anything took."""

from __future__ import annotations

import pytest

from bench.__main__ import WARM_ROUTES, clean_environment, run_child, web_overheads

ROUNDS, PER_ROUND = 2, 3


@pytest.fixture(scope="module")
def warm() -> dict:
    env = clean_environment({"BENCH_WARM_ROUNDS": str(ROUNDS), "BENCH_WARM_ITERATIONS": str(PER_ROUND)})
    result, _ = run_child(["bench/warm.py"], env, timeout=120)
    return result


def test_every_scenario_is_measured_through_the_app_and_directly(warm: dict) -> None:
    names = {name for name in warm if not name.startswith("_")}
    assert names == {"bare_route", "consent_page_get", *WARM_ROUTES, *(f"{route}_flow" for route in WARM_ROUTES)}
    for name in names:
        assert warm[name]["n"] == ROUNDS * PER_ROUND
        assert len(warm[name]["round_medians_us"]) == ROUNDS


def test_secrets_are_read_once_and_every_decision_calls_zoho(warm: dict) -> None:
    meta = warm["_meta"]
    assert meta["secret_source_calls"] == 1  # the Secret Key, once, then cached (no scenario signs in)
    decisions = 4 * (ROUNDS * PER_ROUND + 30)  # consent and revoke, through the app and direct, plus the warm-up
    assert meta["zoho_puts"] == decisions


def test_overhead_is_the_request_minus_its_flow_step() -> None:
    def entry(median: float, rounds: list[float]) -> dict:
        return {"median_us": median, "round_medians_us": rounds}

    warm = {"bare_route": entry(40.0, [40.0, 40.0])}
    for offset, route in enumerate(WARM_ROUTES):
        warm[route] = entry(500.0 + offset, [500.0, 510.0])
        warm[f"{route}_flow"] = entry(440.0, [445.0, 450.0])
    overheads = web_overheads(warm)
    assert overheads["connection_url_get"] == {"overhead_us": 60.0, "flow_us": 440.0, "ratio_to_bare": 1.5, "round_overheads_us": [55.0, 60.0]}
    assert overheads["revoke_post"]["overhead_us"] == 62.0
