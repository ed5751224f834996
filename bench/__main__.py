"""``make bench`` (``.venv/bin/python -m bench``): the service's performance, measured side by side in
one run against baselines measured in the same run, printed as a table and written as JSON to
build/bench/results.json. See docs/performance.md for what each number means and the targets.

This process imports nothing but the standard library and runs every measurement in a child
process (a fresh interpreter each time a cold start is measured). Everything listens on 127.0.0.1;
the whole run stops by itself within ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = ROOT / "build" / "bench"
LAMBDA_TASKS = OUT / "lambda-task"  # the deployment zips extracted, read-only, as Lambda's /var/task
PEER_VENV = BENCH / ".venv-peer"
PEER_REQUIREMENTS = BENCH / "requirements-peer.txt"

# Targets (docs/performance.md). Checked here, never asserted in tests.
COLD_MAX_RATIO = 1.15
WARM_MAX_RATIO = 1.5
WARM_BUDGET_US = 1000
PACKAGE_MAX_BYTES = 2 * 1024 * 1024
# Worth more than the 2 MiB (docs/performance.md): cryptography, with the cffi + pycparser it requires
# (Authlib and PyJWT need it: the provider's ID tokens are RS256/ES256/PS256/EdDSA), and Powertools
# (the JSON log formatter, EMF metrics and the cached secrets provider the project prefers to
# hand-written ones). Bytecode is worth its size too: it is the cold start "as on Lambda" row.
PACKAGE_EXEMPT = ("cryptography", "cffi", "pycparser", "aws_lambda_powertools")
LAMBDA_MEMORY_LIMIT_MB = 128
# The fewest DynamoDB calls each step can make while keeping its guarantees (justified, one by one,
# in docs/performance.md). A step making more than this misses the target.
DYNAMODB_MINIMUM = {
    "connect.start": 2,
    "connect.callback": 2,
    "connect.show_consent": 2,
    "connect.decide": 7,
    "connect.show_result": 1,
    "revoke.start": 2,
    "revoke.show_confirmation": 2,
    "revoke.decide": 7,
    "revoke.show_result": 1,
}
CONNECT_STEPS = ("start", "callback", "show_consent", "decide", "show_result")
REVOKE_STEPS = ("start", "show_confirmation", "decide", "show_result")
WARM_ROUTES = ("connection_url_get", "consent_post", "revoke_post")


class BenchError(Exception):
    pass


class OutOfTime(BaseException):
    pass


# -- children ---------------------------------------------------------------------------------------
def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without any AWS settings of the person running it (no real account is ever
    reached), plus ``extra``."""
    drop = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")  # bytecode caches work as usual
    base = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "BENCH_")) and name not in drop}
    return {**base, **(extra or {})}


def run_child(args: list[str], env: dict[str, str], timeout: float, python: str | None = None) -> tuple[dict[str, Any], float]:
    """Run ``python args``; return its ``BENCH {json}`` line and the seconds from spawn to that line."""
    with tempfile.TemporaryFile(mode="w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [python or sys.executable, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            result, seconds = _bench_line(process.stdout, started)  # type: ignore[arg-type]
            process.wait()
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
        if result is None or process.returncode != 0:
            errors.seek(0)
            tail = errors.read()[-3000:]
            raise BenchError(f"{' '.join(args)} failed (exit {process.returncode}):\n{tail}")
        return result, seconds


def _bench_line(stream: IO[str], started: float) -> tuple[dict[str, Any] | None, float]:
    found: dict[str, Any] | None = None
    seconds = 0.0
    for line in stream:
        if line.startswith("BENCH ") and found is None:
            seconds = time.perf_counter() - started
            found = json.loads(line[6:])
    return found, seconds


@contextlib.contextmanager
def local_stack(tokens: int) -> Iterator[dict[str, Any]]:
    """moto server, the Zoho sandbox and the sign-in provider, in a child process (bench/stack_process.py)."""
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "stack_process.py"), str(tokens)],
        cwd=ROOT,
        env=clean_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        watchdog = threading.Timer(120, process.kill)
        watchdog.start()
        line = process.stdout.readline()
        watchdog.cancel()
        if not line.startswith("BENCH "):
            raise BenchError("the local stack did not start (run `make run` to see why)")
        yield json.loads(line[6:])
    finally:
        with contextlib.suppress(Exception):
            assert process.stdin is not None
            process.stdin.close()  # the stack process stops its servers and moto when stdin closes
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peer_python(log: list[str]) -> str | None:
    """bench/.venv-peer (Slack Bolt + Chalice from PyPI), made or refreshed when requirements-peer.txt
    changes. None (and a note) when it cannot be installed."""
    stamp = PEER_VENV / f".installed-{hashlib.sha256(PEER_REQUIREMENTS.read_bytes()).hexdigest()[:12]}"
    python = PEER_VENV / "bin" / "python"
    if stamp.exists() and python.exists():
        return str(python)
    print("bench: installing the peer (Slack Bolt on Chalice) into bench/.venv-peer ...", flush=True)
    if PEER_VENV.is_symlink():
        PEER_VENV.unlink()
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True, timeout=120, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(PEER_REQUIREMENTS)],
            check=True,
            timeout=300,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log.append(f"peer not measured: could not install {PEER_REQUIREMENTS.name} ({type(exc).__name__})")
        return None
    stamp.touch()
    return str(python)


# -- measurements -----------------------------------------------------------------------------------
def measure_cold(stack: dict[str, Any], repeats: int, peer: str | None, tokens: Iterator[str]) -> dict[str, Any]:
    """Each variant's first request in fresh processes: the service's Connection URL (``connect``) and
    Revoke URL (``service``), each beside its floor, and the peer; interleaved in shuffled order."""
    env = clean_environment({**stack["environment"], "BENCH_CONNECTION": "ec__com_acme", "BENCH_REFERER": stack["sandbox_url"] + "/"})
    variants: dict[str, tuple[str | None, str, int, str]] = {
        "connect": (None, "bench/cold_app.py", 303, "connect"),
        "floor_connect": (None, "bench/cold_floor.py", 303, "connect"),
        "service": (None, "bench/cold_app.py", 303, "revoke"),
        "floor": (None, "bench/cold_floor.py", 303, "revoke"),
    }
    if peer:
        variants["peer"] = (peer, "bench/cold_peer.py", 200, "install")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for repeat in range(-1, repeats):  # -1: a discarded warm-up of each (bytecode, page cache)
        order = list(variants)
        random.Random(repeat).shuffle(order)
        for name in order:
            python, script, status, kind = variants[name]
            with tempfile.TemporaryDirectory(prefix="bench-peer-") as scratch:
                child_env = {**env, "BENCH_TOKEN": next(tokens), "BENCH_PEER_DIR": scratch, "BENCH_KIND": kind}
                result, seconds = run_child([script], child_env, 60, python)
            if result["status"] != status:
                raise BenchError(f"cold {name}: first request answered {result['status']}, expected {status}")
            result["spawn_to_response_ms"] = seconds * 1000
            if repeat >= 0:
                runs[name].append(result)
    summary: dict[str, Any] = {}
    for name, results in runs.items():
        summary[name] = {
            key: statistics.median(r[key] for r in results)
            for key in ("total_ms", "import_ms", "first_request_ms", "cpu_ms", "spawn_to_response_ms", "maxrss_kb", "modules")
        }
        summary[name]["runs_total_ms"] = [round(r["total_ms"], 1) for r in results]
    summary["repeats"] = repeats
    for service, floor, suffix in (("connect", "floor_connect", "_connect"), ("service", "floor", "")):
        summary[f"ratio_service_to_floor{suffix}"] = summary[service]["total_ms"] / summary[floor]["total_ms"]
        # Steadier on a noisy machine: the median of each round's service/floor (run back to back).
        summary[f"ratio_service_to_floor{suffix}_paired"] = statistics.median(
            s["total_ms"] / f["total_ms"] for s, f in zip(runs[service], runs[floor], strict=True)
        )
        summary[f"ratio_service_to_floor{suffix}_cpu"] = summary[service]["cpu_ms"] / summary[floor]["cpu_ms"]
        summary[f"ratio_service_to_floor{suffix}_spawn"] = summary[service]["spawn_to_response_ms"] / summary[floor]["spawn_to_response_ms"]
    if "peer" in summary:
        summary["ratio_service_to_peer"] = summary["service"]["total_ms"] / summary["peer"]["total_ms"]
        summary["ratio_connect_to_peer"] = summary["connect"]["total_ms"] / summary["peer"]["total_ms"]
    return summary


def measure_lambda_cold(stack: dict[str, Any], repeats: int, package: dict[str, Any], tokens: Iterator[str]) -> dict[str, Any]:
    """The service's cold start from its deployment package as Lambda runs it (bench/cold_lambda.py):
    chalice's zip (no bytecode) against ours (a pyc per module), each extracted into a read-only
    directory, interleaved like measure_cold, one discarded warm-up each (page cache)."""
    zips = {"chalice_zip": ROOT / package["chalice_zip_path"], "bytecode_zip": ROOT / package["zip_path"]}
    env = clean_environment(
        {**stack["environment"], "BENCH_CONNECTION": "ec__com_acme", "BENCH_REFERER": stack["sandbox_url"] + "/", "PYTHONDONTWRITEBYTECODE": "1"}
    )
    roots = {name: extract_read_only(path, LAMBDA_TASKS / name) for name, path in zips.items()}
    files = {name: sum(1 for _ in root.rglob("*")) for name, root in roots.items()}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in zips}
    try:
        for repeat in range(-1, repeats):
            order = list(zips)
            random.Random(repeat).shuffle(order)
            for name in order:
                result, seconds = run_child(["bench/cold_lambda.py"], {**env, "BENCH_TOKEN": next(tokens), "BENCH_TASK_ROOT": str(roots[name])}, 60)
                if result["status"] != 303 or not result["chalice_from_task"]:
                    raise BenchError(f"cold {name}: status {result['status']}, chalice from the package: {result['chalice_from_task']}")
                result["spawn_to_response_ms"] = seconds * 1000
                if repeat >= 0:
                    runs[name].append(result)
    finally:
        for root in roots.values():
            set_writable(root, True)
    changed = [name for name, root in roots.items() if sum(1 for _ in root.rglob("*")) != files[name]]
    if changed:
        raise BenchError(f"cold start as on Lambda: files appeared in the read-only package directory of {', '.join(changed)}")
    keys = ("total_ms", "import_ms", "first_request_ms", "cpu_ms", "spawn_to_response_ms", "maxrss_kb", "modules", "task_modules")
    summary: dict[str, Any] = {name: {key: statistics.median(r[key] for r in results) for key in keys} for name, results in runs.items()}
    for name, results in runs.items():
        summary[name]["runs_total_ms"] = [round(r["total_ms"], 1) for r in results]
        summary[name]["zip"] = str(zips[name].relative_to(ROOT))
    without, with_ = runs["chalice_zip"], runs["bytecode_zip"]
    summary["repeats"] = repeats
    summary["ratio_without_to_with_bytecode"] = summary["chalice_zip"]["total_ms"] / summary["bytecode_zip"]["total_ms"]
    summary["ratio_without_to_with_bytecode_paired"] = statistics.median(a["total_ms"] / b["total_ms"] for a, b in zip(without, with_, strict=True))
    summary["ratio_without_to_with_bytecode_cpu"] = summary["chalice_zip"]["cpu_ms"] / summary["bytecode_zip"]["cpu_ms"]
    return summary


def extract_read_only(zip_path: Path, root: Path) -> Path:
    if root.exists():
        set_writable(root, True)
        shutil.rmtree(root)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root)
    set_writable(root, False)
    return root


def set_writable(root: Path, writable: bool) -> None:
    """Lambda's /var/task is read-only. (Root ignores the mode: PYTHONDONTWRITEBYTECODE=1 is what stops
    writes then, and measure_lambda_cold checks that no file appeared.)"""
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755 if writable else 0o555)
        else:
            path.chmod(0o644 if writable else 0o444)


def measure_package(notes: list[str]) -> dict[str, Any]:
    """bench/package.py: chalice package (needs PyPI), bytecode, sizes; the reason in a note if it fails."""
    print("bench: chalice package (and bytecode) ...", flush=True)
    try:
        return run_child(["bench/package.py"], clean_environment({"AWS_DEFAULT_REGION": "us-east-1"}), 300)[0]
    except BenchError as exc:
        notes.append(f"package not measured: {str(exc).splitlines()[0]}")
        return {"skipped": str(exc).splitlines()[0]}


def measure_memory(stack: dict[str, Any], repeats: int) -> dict[str, Any]:
    env = clean_environment({**stack["environment"], "BENCH_SANDBOX_URL": stack["sandbox_url"], "BENCH_SECRET_KEY": stack["secret_key"]})
    results = [run_child(["bench/memory.py"], env, 120)[0] for _ in range(repeats)]
    return {
        "flow_maxrss_kb": statistics.median(r["maxrss_kb"] for r in results),
        "after_import_maxrss_kb": statistics.median(r["maxrss_after_import_kb"] for r in results),
        "runs_kb": [r["maxrss_kb"] for r in results],
    }


# -- the report -------------------------------------------------------------------------------------
def summarize_calls(calls: dict[str, Any]) -> dict[str, Any]:
    """Per step and per flow: DynamoDB reads/writes by operation, request units, Secrets Manager,
    Zoho and sign-in provider calls, on a cold and a warm container."""
    table: dict[str, Any] = {}
    for flow, steps in (("connect", CONNECT_STEPS), ("revoke", REVOKE_STEPS)):
        for container in ("cold", "warm"):
            total: dict[str, Any] = {"dynamodb_reads": 0, "dynamodb_writes": 0, "rru": 0.0, "wru": 0.0, "secretsmanager": 0, "zoho": 0, "oidc": 0}
            for step in steps:
                name = f"{flow}.{container}.{step}"
                entry = calls["steps"].get(name, {"calls": {}, "units": {}, "log_bytes": 0})
                row = _row(entry)
                row["ms"] = calls["ms"].get(name)
                table[name] = row
                for key in total:
                    total[key] += row[key]
            table[f"{flow}.{container}.TOTAL"] = total
    return table


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    counted: dict[str, int] = entry["calls"]
    reads = {
        op.split(":", 1)[1]: n
        for op, n in counted.items()
        if op.startswith("dynamodb:") and op.split(":", 1)[1] in ("GetItem", "Query", "BatchGetItem", "Scan", "TransactGetItems")
    }
    writes = {op.split(":", 1)[1]: n for op, n in counted.items() if op.startswith("dynamodb:") and op.split(":", 1)[1] not in reads}
    return {
        "dynamodb_reads": sum(reads.values()),
        "dynamodb_writes": sum(writes.values()),
        "dynamodb_by_operation": {**reads, **writes},
        "rru": entry["units"].get("RRU", 0.0),
        "wru": entry["units"].get("WRU", 0.0),
        "secretsmanager": sum(n for op, n in counted.items() if op.startswith("secrets-manager:")),
        "zoho": sum(n for op, n in counted.items() if op.startswith("zoho:")),
        "oidc": sum(n for op, n in counted.items() if op.startswith("oidc:")),
        "other": {op: n for op, n in counted.items() if not op.startswith(("dynamodb:", "secrets-manager:", "zoho:", "oidc:"))},
        "oidc_calls": {op.split(":", 1)[1]: n for op, n in counted.items() if op.startswith("oidc:")},
        "log_bytes": entry.get("log_bytes", 0),
    }


def costs(calls: dict[str, Any], table: dict[str, Any], cold: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    from bench.cost import PRICES, REGION, flow_cost, per_million

    result: dict[str, Any] = {"region": REGION, "prices_usd": PRICES, "lambda_memory_mb": memory_mb}
    for flow, steps in (("connect", CONNECT_STEPS), ("revoke", REVOKE_STEPS)):
        warm = [_cost_step(table[f"{flow}.warm.{step}"], calls["warm_median_ms"][f"{flow}.{step}"]) for step in steps]
        cold_steps = [_cost_step(table[f"{flow}.cold.{step}"], calls["ms"][f"{flow}.cold.{step}"]) for step in steps]
        result[f"{flow}_warm_per_million"] = per_million(flow_cost(warm, memory_mb))
        # Every flow on a new container: its INIT phase (the cold import) billed, cold-container calls.
        result[f"{flow}_cold_per_million"] = per_million(flow_cost(cold_steps, memory_mb, init_ms=cold["service"]["import_ms"]))
    return result


def _cost_step(row: dict[str, Any], ms: float) -> dict[str, Any]:
    return {"ms": ms, "rru": row["rru"], "wru": row["wru"], "secretsmanager": row["secretsmanager"], "log_bytes": row["log_bytes"]}


def web_overheads(warm: dict[str, Any]) -> dict[str, Any]:
    """Per route, what the web layer (Chalice, the routes, the adapter, the Lambda event in and out)
    costs, against the bare route (which is all web layer: its handler returns a constant). Two ways:

    - ``web_us``: the request through the app to a flow stand-in that answers at once (``*_web``),
      timed like the bare route: the target's measure;
    - ``by_subtraction_us``: the whole request minus the same flow step called directly (``*_flow``),
      medians; it also carries what running the flow's work in between costs the web layer (caches)."""
    bare = warm["bare_route"]["median_us"]
    overheads: dict[str, Any] = {}
    for route in WARM_ROUTES:
        alone = warm[f"{route}_web"]["median_us"]
        subtracted = warm[route]["median_us"] - warm[f"{route}_flow"]["median_us"]
        overheads[route] = {"web_us": alone, "ratio_to_bare": alone / bare, "by_subtraction_us": subtracted, "by_subtraction_ratio_to_bare": subtracted / bare}
    return overheads


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cold = results["cold_start"]
    for label, key in (("cold start, Connection URL / floor", "ratio_service_to_floor_connect"), ("cold start, Revoke URL / floor", "ratio_service_to_floor")):
        rows.append(_target(label, f"{cold[key]:.2f}x", f"<= {COLD_MAX_RATIO}x", cold[key] <= COLD_MAX_RATIO))
    warm = results["warm"]
    for route in WARM_ROUTES:
        overhead = warm["_overhead"][route]
        rows.append(
            _target(
                f"warm web layer, {route} / bare route",
                f"{overhead['ratio_to_bare']:.2f}x ({overhead['web_us']:.0f} µs)",
                f"<= {WARM_MAX_RATIO}x",
                overhead["ratio_to_bare"] <= WARM_MAX_RATIO,
            )
        )
    # The whole request, the flow's work included, is reported beside the target, not as one: no route
    # that verifies a JWT and writes to DynamoDB costs 1.5 constant pages. What bounds it is the
    # absolute budget in the next row (docs/performance.md, Targets).
    for route in WARM_ROUTES:
        ratio = warm[route]["ratio_to_bare"]
        rows.append(_target(f"warm whole request, {route} / bare route", f"{ratio:.1f}x", "(reported, not a target)", ratio <= WARM_MAX_RATIO, info=True))
    slowest = max(WARM_ROUTES, key=lambda route: warm[route]["median_us"])
    rows.append(
        _target(
            "warm whole request, slowest route (budget)",
            f"{warm[slowest]['median_us']:.0f} µs ({slowest})",
            f"<= {WARM_BUDGET_US} µs",
            warm[slowest]["median_us"] <= WARM_BUDGET_US,
        )
    )
    table = results["aws_calls"]["per_step"]
    warm_sm = sum(row["secretsmanager"] for name, row in table.items() if ".warm." in name and not name.endswith("TOTAL"))
    rows.append(_target("Secrets Manager calls on a warm container", str(warm_sm), "0", warm_sm == 0))
    over = []
    for step, minimum in DYNAMODB_MINIMUM.items():
        flow, leaf = step.split(".")
        row = table[f"{flow}.warm.{leaf}"]
        if row["dynamodb_reads"] + row["dynamodb_writes"] > minimum:
            over.append(f"{step} {row['dynamodb_reads'] + row['dynamodb_writes']}>{minimum}")
    connect_total = sum(table[f"connect.warm.{s}"]["dynamodb_reads"] + table[f"connect.warm.{s}"]["dynamodb_writes"] for s in CONNECT_STEPS)
    revoke_total = sum(table[f"revoke.warm.{s}"]["dynamodb_reads"] + table[f"revoke.warm.{s}"]["dynamodb_writes"] for s in REVOKE_STEPS)
    minimum_connect = sum(v for k, v in DYNAMODB_MINIMUM.items() if k.startswith("connect."))
    minimum_revoke = sum(v for k, v in DYNAMODB_MINIMUM.items() if k.startswith("revoke."))
    rows.append(
        _target(
            "DynamoDB calls per flow (connect / revoke)",
            f"{connect_total} / {revoke_total}" + (f" ({', '.join(over)})" if over else ""),
            f"<= {minimum_connect} / {minimum_revoke} (the justified minimum)",
            not over,
        )
    )
    package = results.get("package")
    if package and "zip_bytes" in package:
        entries = package["by_entry"]
        exempt = sum(entries.get(name, {}).get("zip_bytes", 0) for name in PACKAGE_EXEMPT)
        bytecode = sum(sizes.get("bytecode_zip_bytes", 0) for name, sizes in entries.items() if name not in PACKAGE_EXEMPT)
        rest = package["zip_bytes"] - exempt - bytecode
        rows.append(
            _target(
                "deployment package (zip)",
                f"{package['zip_bytes'] / 2**20:.2f} MiB = {'+'.join(PACKAGE_EXEMPT)} {exempt / 2**20:.2f} "
                f"+ other bytecode {bytecode / 2**20:.2f} + rest {rest / 2**20:.2f}",
                "rest < 2 MiB; the others worth more (docs/performance.md)",
                rest < PACKAGE_MAX_BYTES,
            )
        )
    memory = results["memory"]["flow_maxrss_kb"] / 1024
    rows.append(
        _target(
            "peak memory of a connect+revoke flow",
            f"{memory:.0f} MiB",
            f"fits a {LAMBDA_MEMORY_LIMIT_MB} MB Lambda ({results['cost']['lambda_memory_mb']} MB configured, for CPU)",
            memory < LAMBDA_MEMORY_LIMIT_MB,
        )
    )
    return rows


def _target(name: str, measured: str, target: str, met: bool, *, info: bool = False) -> dict[str, Any]:
    """One row of the targets. ``info``: reported beside a target, not one (see docs/performance.md)."""
    return {"target": name, "measured": measured, "goal": target, "met": met, "info": info}


def print_report(results: dict[str, Any]) -> None:
    lines: list[str] = []
    for section in (_cold_lines, _warm_lines, _calls_lines, _package_lines, _memory_lines, _cost_lines, _target_lines):
        lines.append("")
        lines.extend(section(results))
    lines.append(f"\nJSON: {os.path.relpath(results['_path'], ROOT)}   ({results['elapsed_s']:.0f} s)")
    print("\n".join(lines), flush=True)


def _cold_lines(results: dict[str, Any]) -> list[str]:
    cold = results["cold_start"]
    lines = [f"== Cold start: import + first request in a fresh process, median of {cold['repeats']} (in-process clock; spawn-to-response beside it)"]
    lines.append(f"  {'':52s} {'total ms':>9s} {'import':>8s} {'1st req':>8s} {'CPU ms':>7s} {'spawn->resp':>11s} {'RSS MiB':>8s} {'service/it':>17s}")
    rows = (
        ("connect", "service: Connection URL GET (discovery, redirect)", "", ""),
        ("floor_connect", "FLOOR: same AWS calls + discovery GET", "connect", ""),
        ("service", "service: Revoke URL GET", "", ""),
        ("floor", "FLOOR: chalice+boto3, same 2 clients, 3 calls", "service", ""),
        ("peer", "PEER: Slack Bolt OAuth on Chalice, /install", "connect", " (Conn. URL)"),
    )
    for name, label, compared, which in rows:
        if name not in cold:
            continue
        c = cold[name]
        ratio = f"{cold[compared]['total_ms'] / c['total_ms']:.2f}x{which}" if compared else ""
        lines.append(
            f"  {label:52s} {c['total_ms']:9.0f} {c['import_ms']:8.0f} {c['first_request_ms']:8.0f} {c['cpu_ms']:7.0f} {c['spawn_to_response_ms']:11.0f} "
            f"{c['maxrss_kb'] / 1024:8.0f} {ratio:>17s}"
        )
    lines.append("  (each column is its own median, so total is not import + 1st req; compare totals: the service imports boto3")
    lines.append("  and the modules a request needs during its first request, the floor imports them up front)")
    for label, suffix in (("Connection URL", "_connect"), ("Revoke URL", "")):
        lines.append(
            f"  {label} service/floor: {cold[f'ratio_service_to_floor{suffix}']:.2f}x (median of per-round ratios "
            f"{cold[f'ratio_service_to_floor{suffix}_paired']:.2f}x, CPU time {cold[f'ratio_service_to_floor{suffix}_cpu']:.2f}x)"
        )
    return lines + _lambda_cold_lines(results)


def _lambda_cold_lines(results: dict[str, Any]) -> list[str]:
    cold = results.get("cold_start_lambda") or {}
    title = "== Cold start as on Lambda: the service from its extracted deployment.zip, read-only, first on sys.path, PYTHONDONTWRITEBYTECODE=1"
    if "bytecode_zip" not in cold:
        return [f"{title}: not measured ({cold.get('skipped', 'skipped')})"]
    lines = [f"{title}; boto3 from the venv (precompiled, as in the Lambda runtime); median of {cold['repeats']}"]
    lines.append(f"  {'':46s} {'total ms':>9s} {'import':>8s} {'1st req':>8s} {'CPU ms':>7s} {'spawn->resp':>11s} {'RSS MiB':>8s} {'without/with':>12s}")
    for name, label in (("chalice_zip", "zip as chalice makes it (no .pyc)"), ("bytecode_zip", "our zip (unchecked-hash .pyc)")):
        c = cold[name]
        ratio = f"{cold['ratio_without_to_with_bytecode']:.2f}x" if name == "bytecode_zip" else ""
        lines.append(
            f"  {label:46s} {c['total_ms']:9.0f} {c['import_ms']:8.0f} {c['first_request_ms']:8.0f} {c['cpu_ms']:7.0f} {c['spawn_to_response_ms']:11.0f} "
            f"{c['maxrss_kb'] / 1024:8.0f} {ratio:>12s}"
        )
    lines.append(
        f"  without bytecode / with bytecode: {cold['ratio_without_to_with_bytecode']:.2f}x (median of per-round ratios "
        f"{cold['ratio_without_to_with_bytecode_paired']:.2f}x, CPU time {cold['ratio_without_to_with_bytecode_cpu']:.2f}x); "
        f"{cold['bytecode_zip']['task_modules']:.0f} modules loaded from the package"
    )
    return lines


def _warm_lines(results: dict[str, Any]) -> list[str]:
    warm = results["warm"]
    lines = [f"== Warm requests: in-process, in-memory fakes, Lambda-event path; median of {warm['_meta']['rounds'] * warm['_meta']['per_round']} each"]
    lines.append(f"  {'':46s} {'median µs':>10s} {'p90 µs':>9s} {'vs bare':>8s}")
    for name, label in (
        ("bare_route", "BARE: constant HTML route"),
        ("connection_url_get", "Connection URL GET (-> sign-in redirect)"),
        ("consent_page_get", "consent page GET /flow"),
        ("consent_post", "consent POST allow (-> Zoho PUT)"),
        ("revoke_post", "revoke POST (-> Zoho PUT)"),
    ):
        w = warm[name]
        lines.append(f"  {label:46s} {w['median_us']:10.0f} {w['p90_us']:9.0f} {w['ratio_to_bare']:7.1f}x")
    lines.append("  the web layer (Chalice, routes, adapter): alone = through the app to a step that answers at once, timed like")
    lines.append("  the bare route (the target's measure); by subtraction = the whole request - the same flow step called directly,")
    lines.append("  which also carries what running the flow's work in between costs the web layer (CPU caches)")
    lines.append(f"  {'':46s} {'request µs':>10s} {'flow µs':>9s} {'alone µs':>9s} {'vs bare':>8s} {'subtr. µs':>10s} {'vs bare':>8s}")
    for route in WARM_ROUTES:
        o = warm["_overhead"][route]
        lines.append(
            f"  {route:46s} {warm[route]['median_us']:10.0f} {warm[f'{route}_flow']['median_us']:9.0f} {o['web_us']:9.0f} {o['ratio_to_bare']:7.2f}x"
            f" {o['by_subtraction_us']:10.0f} {o['by_subtraction_ratio_to_bare']:7.2f}x"
        )
    return lines


def _calls_lines(results: dict[str, Any]) -> list[str]:
    table = results["aws_calls"]["per_step"]
    lines = ["== AWS calls per step, counted against moto (cold: the wiring is built by this flow; warm: by an earlier one)"]
    lines.append(f"  {'step':34s} {'DDB r':>5s} {'DDB w':>5s} {'RRU':>5s} {'WRU':>5s} {'SM':>3s} {'Zoho':>4s} {'OIDC':>4s} {'ms(moto)':>9s}  by operation")
    for flow, steps in (("connect", CONNECT_STEPS), ("revoke", REVOKE_STEPS)):
        for container in ("cold", "warm"):
            for step in (*steps, "TOTAL"):
                row = table[f"{flow}.{container}.{step}"]
                ms = f"{row['ms']:9.1f}" if row.get("ms") is not None else " " * 9
                ops = ", ".join(f"{op} {n}" for op, n in row.get("dynamodb_by_operation", {}).items())
                oidc = ", ".join(f"{op} {n}" for op, n in row.get("oidc_calls", {}).items())
                lines.append(
                    f"  {flow + '.' + container + '.' + step:34s} {row['dynamodb_reads']:5d} {row['dynamodb_writes']:5d} {row['rru']:5.1f} {row['wru']:5.0f} "
                    f"{row['secretsmanager']:3d} {row['zoho']:4d} {row['oidc']:4d} {ms}  {ops}{'; OIDC ' + oidc if oidc else ''}"
                )
    return lines


def _package_lines(results: dict[str, Any]) -> list[str]:
    package = results.get("package") or {}
    if "zip_bytes" not in package:
        return [f"== Deployment package: not measured ({package.get('skipped', 'skipped')})"]
    zipped, unzipped = package["zip_bytes"] / 2**20, package["unzipped_bytes"] / 2**20
    top = list(package["by_entry"].items())[:8]
    bytecode = package["bytecode"]
    return [
        f"== Deployment package (chalice package + bytecode, stage dev): {zipped:.2f} MiB zipped, {unzipped:.1f} MiB unzipped",
        f"  bytecode: {bytecode['compiled']} .pyc for {package['runtime']}, {len(bytecode['skipped'])} .py skipped; "
        f"+{bytecode['added_zip_bytes'] / 2**20:.2f} MiB zipped, +{bytecode['added_unzipped_bytes'] / 2**20:.1f} MiB unzipped "
        f"(chalice's zip: {package['chalice_zip_bytes'] / 2**20:.2f} MiB, {package['chalice_unzipped_bytes'] / 2**20:.1f} MiB)",
        "  largest (MiB zipped): " + ", ".join(f"{name} {sizes['zip_bytes'] / 2**20:.2f}" for name, sizes in top),
    ]


def _memory_lines(results: dict[str, Any]) -> list[str]:
    memory, cold = results["memory"], results["cold_start"]
    flow, imported = memory["flow_maxrss_kb"] / 1024, memory["after_import_maxrss_kb"] / 1024
    return [
        f"== Peak memory (ru_maxrss, MiB): a connect+revoke flow {flow:.0f} (after importing the app {imported:.0f}); "
        f"cold first request {cold['service']['maxrss_kb'] / 1024:.0f}, floor {cold['floor']['maxrss_kb'] / 1024:.0f}"
    ]


def _cost_lines(results: dict[str, Any]) -> list[str]:
    cost = results["cost"]
    parts = ("lambda_compute", "lambda_requests", "api_gateway", "dynamodb", "secrets_manager", "cloudwatch_logs", "total")
    lines = [f"== Cost per million flows, USD ({cost['region']} list prices, {cost['lambda_memory_mb']} MB Lambda; docs/performance.md)"]
    lines.append(f"  {'':28s} " + " ".join(f"{p.replace('_', ' ')[:11]:>11s}" for p in parts) + f" {'billed ms':>10s}")
    for key, label in (
        ("connect_warm_per_million", "connect, warm containers"),
        ("connect_cold_per_million", "connect, each on a new one"),
        ("revoke_warm_per_million", "revoke, warm containers"),
        ("revoke_cold_per_million", "revoke, each on a new one"),
    ):
        c = cost[key]
        lines.append(f"  {label:28s} " + " ".join(f"{c[p]:11.2f}" for p in parts) + f" {c['billed_ms']:10.0f}")
    lines.append('  ("each on a new one": every flow on a new container, its cold steps plus one billed INIT of the measured import;')
    lines.append("  billed ms: the service's time plus moto's loopback round trips standing in for AWS's, not AWS latency)")
    return lines


def _target_lines(results: dict[str, Any]) -> list[str]:
    lines = ["== Targets"]
    for row in results["targets"]:
        status = "info" if row.get("info") else "met " if row["met"] else "MISS"
        lines.append(f"  [{status}] {row['target']:56s} {row['measured']:34s} goal {row['goal']}")
    lines.extend(f"  note: {note}" for note in results["notes"])
    lines.append("  (the bench reports and exits 0 whatever the targets: they are checked here, never asserted in a test)")
    return lines


def stage_memory_mb(stage: str = "dev") -> int:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage_config = config.get("stages", {}).get(stage, {})
    return int(stage_config.get("lambda_memory_size", config.get("lambda_memory_size", 128)))


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "app.py", "chalicelib", "requirements.txt"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
        return head + ("+changes" if dirty.stdout.strip() else "")
    except (subprocess.SubprocessError, OSError):
        return "unknown"


# -- main -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21, help="fresh processes per cold-start variant (median reported)")
    parser.add_argument("--memory-repeats", type=int, default=3)
    parser.add_argument("--warm-rounds", type=int, default=10)
    parser.add_argument("--warm-iterations", type=int, default=200, help="requests per scenario per round")
    parser.add_argument("--flow-repeats", type=int, default=5, help="warm flows per kind when counting calls")
    parser.add_argument("--no-package", action="store_true", help="skip chalice package (it needs PyPI) and the cold start from its zips")
    parser.add_argument("--no-peer", action="store_true", help="skip the Slack Bolt peer (it needs PyPI once)")
    parser.add_argument("--budget", type=int, default=570, help="seconds before the run stops itself")
    parser.add_argument("--out", type=Path, default=OUT / "results.json")
    args = parser.parse_args(argv)

    def out_of_time(*_: object) -> None:
        raise OutOfTime()

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(args.budget)
    started = time.monotonic()
    notes: list[str] = []
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "meta": {
            "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "revision": git_revision(),
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
            "args": {k: str(v) for k, v in vars(args).items()},
        }
    }
    try:
        peer = None if args.no_peer else peer_python(notes)
        results["package"] = {"skipped": "--no-package"} if args.no_package else measure_package(notes)
        print("bench: starting moto server, the Zoho sandbox and the sign-in provider on 127.0.0.1 ...", flush=True)
        with local_stack(tokens=8 * (args.repeats + 1) + 4) as stack:
            tokens = iter(stack["tokens"])
            flow_env = clean_environment(
                {
                    **stack["environment"],
                    "BENCH_SANDBOX_URL": stack["sandbox_url"],
                    "BENCH_SECRET_KEY": stack["secret_key"],
                    "BENCH_FLOW_REPEATS": str(args.flow_repeats),
                }
            )
            print("bench: AWS calls per flow ...", flush=True)
            calls, _ = run_child(["bench/calls.py"], flow_env, 180)
            print(f"bench: cold start x{args.repeats} (Connection and Revoke URL, each with its floor{', peer' if peer else ''}) ...", flush=True)
            results["cold_start"] = measure_cold(stack, args.repeats, peer, tokens)
            if "zip_bytes" in results["package"]:
                print(f"bench: cold start as on Lambda x{args.repeats} (chalice's zip, ours with bytecode) ...", flush=True)
                results["cold_start_lambda"] = measure_lambda_cold(stack, args.repeats, results["package"], tokens)
            else:
                results["cold_start_lambda"] = {"skipped": f"no package ({results['package']['skipped']})"}
            print("bench: peak memory ...", flush=True)
            results["memory"] = measure_memory(stack, args.memory_repeats)
        print("bench: warm requests ...", flush=True)
        warm_env = clean_environment({"BENCH_WARM_ROUNDS": str(args.warm_rounds), "BENCH_WARM_ITERATIONS": str(args.warm_iterations)})
        warm, _ = run_child(["bench/warm.py"], warm_env, 240)
        for name, value in warm.items():
            if name != "_meta":
                value["ratio_to_bare"] = value["median_us"] / warm["bare_route"]["median_us"]
        warm["_overhead"] = web_overheads(warm)
        results["warm"] = warm
    except OutOfTime:
        print(f"bench: out of time after {args.budget} s; stopped", file=sys.stderr)
        return 2
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
    table = summarize_calls(calls)
    results["aws_calls"] = {
        "per_step": table,
        "warm_counts_agree": calls["warm_counts_agree"],
        "flow_repeats": calls["warm_repeats"],
        "floor_makes": ["secrets-manager:GetSecretValue", "dynamodb:GetItem", "dynamodb:PutItem"],
        **{
            f"service_cold_{kind}_start_makes": sorted(
                op for op, n in calls["steps"].get(f"{kind}.cold.start", {}).get("calls", {}).items() for _ in range(n) if not op.startswith("zoho:")
            )
            for kind in ("connect", "revoke")
        },
    }
    floor_makes = results["aws_calls"]["floor_makes"]
    for kind, also in (("connect", ["oidc:discovery"]), ("revoke", [])):
        if sorted(floor_makes + also) != results["aws_calls"][f"service_cold_{kind}_start_makes"]:
            notes.append(f"the floor's calls differ from the service's cold {kind} start: {results['aws_calls'][f'service_cold_{kind}_start_makes']}")
    if not calls["warm_counts_agree"]:
        notes.append("repeated warm flows made different calls (see aws_calls in the JSON)")
    memory_mb = stage_memory_mb()
    results["cost"] = costs(calls, table, results["cold_start"], memory_mb)
    results["targets"] = targets(results)
    results["notes"] = notes
    results["elapsed_s"] = time.monotonic() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    results["_path"] = str(args.out.resolve())
    print_report(results)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
