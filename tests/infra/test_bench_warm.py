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


def test_every_route_is_measured_whole_as_a_flow_step_and_as_web_layer_alone(warm: dict) -> None:
    names = {name for name in warm if not name.startswith("_")}
    assert names == {"bare_route", "consent_page_get", *WARM_ROUTES, *(f"{route}_{how}" for route in WARM_ROUTES for how in ("flow", "web"))}
    for name in names:
        assert warm[name]["n"] == ROUNDS * PER_ROUND
        assert len(warm[name]["round_medians_us"]) == ROUNDS


def test_secrets_are_read_once_and_every_decision_calls_zoho(warm: dict) -> None:
    meta = warm["_meta"]
    assert meta["secret_source_calls"] == 1  # the Secret Key, once, then cached (no scenario signs in)
    # Consent and revoke, through the app and direct, plus the warm-up; two more when the web-layer
    # scenarios take the real answers they answer with; none from the web-layer scenarios themselves.
    assert meta["zoho_puts"] == 4 * (ROUNDS * PER_ROUND + 30) + 2


def test_the_web_layer_is_measured_alone_and_by_subtraction() -> None:
    warm = {"bare_route": {"median_us": 40.0}}
    for offset, route in enumerate(WARM_ROUTES):
        warm[route] = {"median_us": 500.0 + offset}
        warm[f"{route}_flow"] = {"median_us": 440.0}
        warm[f"{route}_web"] = {"median_us": 50.0}
    overheads = web_overheads(warm)
    assert overheads["connection_url_get"] == {"web_us": 50.0, "ratio_to_bare": 1.25, "by_subtraction_us": 60.0, "by_subtraction_ratio_to_bare": 1.5}
    assert overheads["revoke_post"]["by_subtraction_us"] == 62.0
