"""Deployment package size: ``chalice package`` through tools/package_app.py (the Makefile's
``package`` target; example policy, as for sizing), then the zip's size, the unzipped size, and the
size of each top-level entry (a dependency or the app), of the package as shipped (with bytecode).
Keeps chalice's own zip beside it (``deployment-chalice.zip``, no bytecode) for the "as on Lambda"
cold start. Prints one ``BENCH {json}`` line."""

from __future__ import annotations

import json
import os
import sys
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# What each top-level entry of the zip belongs to (dist-info folders fold into their package).
OWNERS = {
    "_cffi_backend": "cffi",
    "typing_extensions": "typing_extensions",
    "charset_normalizer": "charset_normalizer",
}


def owner(name: str) -> str:
    top = name.split("/", 1)[0]
    for suffix in (".dist-info", ".data"):
        if top.endswith(suffix):
            top = top[: -len(suffix)].rsplit("-", 1)[0]
    top = top.split(".", 1)[0] if top.endswith((".py", ".so")) or ".cpython-" in top else top
    top = top.lower().replace("-", "_")
    return {"pyjwt": "jwt", "app": "app.py", **OWNERS}.get(top, top)


def main() -> None:
    from tools.bytecode import add_bytecode
    from tools.package_app import package

    out = ROOT / "build" / "bench" / "package-dev"
    result = package("dev", out, example_policy=True, bytecode=False)
    chalice_zip = result.zip_path.with_name("deployment-chalice.zip")
    result.zip_path.replace(chalice_zip)
    bytecode = add_bytecode(chalice_zip, result.zip_path, result.runtime)  # what package() does with bytecode=True
    compressed: Counter[str] = Counter()
    unzipped: Counter[str] = Counter()
    compressed_bytecode: Counter[str] = Counter()
    with zipfile.ZipFile(result.zip_path) as archive:
        for info in archive.infolist():
            compressed[owner(info.filename)] += info.compress_size
            unzipped[owner(info.filename)] += info.file_size
            if info.filename.endswith(".pyc"):
                compressed_bytecode[owner(info.filename)] += info.compress_size
    print(
        "BENCH "
        + json.dumps(
            {
                "zip_bytes": bytecode.zip_bytes_after,
                "unzipped_bytes": bytecode.unzipped_bytes_after,
                "by_entry": {
                    name: {"zip_bytes": size, "unzipped_bytes": unzipped[name], "bytecode_zip_bytes": compressed_bytecode[name]}
                    for name, size in compressed.most_common()
                },
                "zip_path": os.path.relpath(result.zip_path, ROOT),
                "runtime": result.runtime,
                "bytecode": {
                    "compiled": bytecode.compiled,
                    "skipped": list(bytecode.skipped),
                    "dropped": list(bytecode.dropped),
                    "added_zip_bytes": bytecode.zip_bytes_after - bytecode.zip_bytes_before,
                    "added_unzipped_bytes": bytecode.unzipped_bytes_after - bytecode.unzipped_bytes_before,
                },
                "chalice_zip_path": os.path.relpath(chalice_zip, ROOT),
                "chalice_zip_bytes": bytecode.zip_bytes_before,
                "chalice_unzipped_bytes": bytecode.unzipped_bytes_before,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
