"""Cold start as on Lambda: the service imported from an extracted deployment.zip, a read-only
directory first on sys.path (Lambda's /var/task), run with PYTHONDONTWRITEBYTECODE=1; the same first
request as cold_app.py (the Revoke URL, moto server behind it).

Everything the package holds comes from it: our code, chalice's runtime (chalice/app.py as chalice
packs it), every dependency. boto3 and botocore are not in the package; they come from the venv,
precompiled, as the Lambda runtime provides them. Run by ``python -m bench`` once with the zip as
chalice makes it (no bytecode) and once with ours (an unchecked-hash pyc per module); prints one
``BENCH {json}`` line. The clock starts before any import.
"""

import time

T0 = time.perf_counter()
C0 = time.process_time()

import os  # noqa: E402
import sys  # noqa: E402

TASK = os.environ["BENCH_TASK_ROOT"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = TASK  # in place of this script's directory: the package first, then the venv

from app import app  # noqa: E402

sys.path.append(ROOT)  # after the package and the venv: only bench/ and devstack/ (event builder) come from here
from bench.events import LambdaContext, first_request, report  # noqa: E402

T1 = time.perf_counter()
connection = os.environ["BENCH_CONNECTION"]
reply = app(first_request(connection, os.environ["BENCH_TOKEN"], os.environ.get("BENCH_REFERER", "https://books.zoho.com/")), LambdaContext())
T2 = time.perf_counter()
from_task = [m for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").startswith(TASK + os.sep)]
report(
    T0,
    T1,
    T2,
    C0,
    reply,
    {"task_modules": len(from_task), "chalice_from_task": (sys.modules["chalice"].__file__ or "").startswith(TASK + os.sep)},
)
