"""Cold start of the service: a fresh process imports the app and serves its first request as Lambda
would, the Connection URL (``BENCH_KIND=connect``: OpenID discovery, then the sign-in redirect) or the
Revoke URL (``BENCH_KIND=revoke``), with moto server and the development provider behind it.

Run by ``python -m bench``; prints one ``BENCH {json}`` line. The clock starts before any import.
"""

import time

T0 = time.perf_counter()
C0 = time.process_time()

import os  # noqa: E402
import sys  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from app import app  # noqa: E402

from bench.events import LambdaContext, first_request, report  # noqa: E402

T1 = time.perf_counter()
connection = os.environ["BENCH_CONNECTION"]
referer = os.environ.get("BENCH_REFERER", "https://books.zoho.com/")
reply = app(first_request(connection, os.environ["BENCH_TOKEN"], referer, os.environ.get("BENCH_KIND", "revoke")), LambdaContext())
T2 = time.perf_counter()
report(T0, T1, T2, C0, reply)
