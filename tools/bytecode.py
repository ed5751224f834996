"""Bytecode in the deployment package: an unchecked-hash ``.pyc`` next to every ``.py`` of a Lambda zip.

Lambda runs the package from ``/var/task``, which is read-only, and chalice zips no bytecode, so
without this every cold start compiles every module it imports from the package (our code and every
dependency; boto3 comes precompiled with the runtime). Each ``x/y.py`` gets ``x/__pycache__/y.<cache
tag>.pyc`` compiled by this interpreter with ``py_compile``:

- ``PycInvalidationMode.UNCHECKED_HASH``: the pyc holds a hash of its source instead of the source's
  mtime and size, and the import system uses it without comparing it to the source (Lambda does not
  promise to keep the zip's timestamps; chalice sets them all to 1980 anyway). The pyc is made from
  the very source bytes shipped beside it, so it cannot be stale.
- ``optimize=0``: asserts and docstrings kept, and the file name the runtime (run without ``-O``)
  looks for.
- the code objects name ``/var/task/<path>`` as their file (the import system sets the real path
  when it loads them), so the output does not depend on where it was built.

Bytecode is specific to a Python minor version: the compiling interpreter must be the functions'
runtime, else :func:`add_bytecode` refuses. The ``.py`` files stay (tracebacks show their lines).
A file that does not compile (a Python 2 script inside some wheel) is left without a pyc and
counted. ``__pycache__`` entries already in the zip are dropped: they are timestamp pycs written by
whatever imported the app while it was being packaged, useless on Lambda. Entries are written in
name order, with the date, permissions and compression chalice gave them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

TASK_ROOT = PurePosixPath("/var/task")  # where Lambda puts the package; the file name in each code object
_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


class BytecodeError(Exception):
    """The package cannot get bytecode from this interpreter (wrong Python version, unreadable template)."""


@dataclass(frozen=True)
class Bytecode:
    """What :func:`add_bytecode` did to a deployment zip."""

    runtime: str
    compiled: int
    skipped: tuple[str, ...]
    """``.py`` files left without a pyc because they do not compile with the runtime's Python."""
    dropped: tuple[str, ...]
    """``__pycache__`` entries that were already in the zip."""
    zip_bytes_before: int
    zip_bytes_after: int
    unzipped_bytes_before: int
    unzipped_bytes_after: int

    def summary(self) -> str:
        mib = 1024 * 1024
        skipped = f"{len(self.skipped)} .py skipped (do not compile)"
        if self.skipped:
            skipped += ": " + ", ".join(self.skipped[:5]) + (" ..." if len(self.skipped) > 5 else "")
        dropped = f", {len(self.dropped)} __pycache__ entries it already had dropped" if self.dropped else ""
        return (
            f"bytecode for {self.runtime}: {self.compiled} .pyc added (unchecked-hash), {skipped}{dropped}; "
            f"+{(self.zip_bytes_after - self.zip_bytes_before) / mib:.2f} MiB zipped, "
            f"+{(self.unzipped_bytes_after - self.unzipped_bytes_before) / mib:.2f} MiB unzipped"
        )


def interpreter_runtime() -> str:
    """The Lambda runtime name of this interpreter's Python version (``python3.11``)."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def template_runtime(template: Path) -> str:
    """The one ``Runtime`` of the functions in a packaged template (sam.json)."""
    try:
        body = json.loads(template.read_text())
    except (OSError, ValueError) as exc:
        raise BytecodeError(f"cannot read the functions' runtime from {template}: {exc}") from exc
    default = body.get("Globals", {}).get("Function", {}).get("Runtime")
    runtimes = {
        resource.get("Properties", {}).get("Runtime", default) for resource in body.get("Resources", {}).values() if resource.get("Type") in _FUNCTION_TYPES
    }
    if len(runtimes) != 1 or None in runtimes:
        raise BytecodeError(f"{template}: expected one Runtime for all functions, found {sorted(map(str, runtimes))}")
    return str(runtimes.pop())


def check_runtime(runtime: str) -> None:
    if runtime != interpreter_runtime():
        raise BytecodeError(
            f"the functions run {runtime}, but this is Python {sys.version_info.major}.{sys.version_info.minor} ({sys.executable}): "
            f"bytecode only loads in the Python version that compiled it; package with {runtime}"
        )


def add_bytecode(source: Path, target: Path, runtime: str) -> Bytecode:
    """Write ``source`` (a deployment zip) to ``target`` (may be the same path) with a pyc per ``.py``."""
    check_runtime(runtime)
    with zipfile.ZipFile(source) as original:
        entries = [info for info in original.infolist() if not info.is_dir()]
        dropped = tuple(sorted(info.filename for info in entries if _is_cache_entry(info.filename)))
        kept = [info for info in entries if not _is_cache_entry(info.filename)]
        with tempfile.TemporaryDirectory(prefix="bytecode-") as scratch:
            pycs, skipped = _compile(original, (info for info in kept if info.filename.endswith(".py")), Path(scratch))
            written = [(_copy_info(info), original.read(info)) for info in kept]
        written.extend(pycs)
    written.sort(key=lambda entry: entry[0].filename)
    zip_before, unzipped_before = source.stat().st_size, sum(info.file_size for info in entries)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as out:
            for info, data in written:
                out.writestr(info, data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Bytecode(
        runtime=runtime,
        compiled=len(pycs),
        skipped=tuple(skipped),
        dropped=dropped,
        zip_bytes_before=zip_before,
        zip_bytes_after=target.stat().st_size,
        unzipped_bytes_before=unzipped_before,
        unzipped_bytes_after=sum(len(data) for _, data in written),
    )


def pyc_name(py_name: str) -> str:
    """The zip entry of a ``.py`` entry's bytecode (``a/b.py`` -> ``a/__pycache__/b.cpython-311.pyc``)."""
    return importlib.util.cache_from_source(py_name, optimization="")


def _compile(archive: zipfile.ZipFile, sources: Iterable[zipfile.ZipInfo], scratch: Path) -> tuple[list[tuple[zipfile.ZipInfo, bytes]], list[str]]:
    pycs: list[tuple[zipfile.ZipInfo, bytes]] = []
    skipped: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings of third-party code (invalid escapes) are not ours to print
        for info in sources:
            source = Path(archive.extract(info, scratch))
            compiled = scratch / pyc_name(info.filename)
            try:
                py_compile.compile(
                    str(source),
                    cfile=str(compiled),
                    dfile=str(TASK_ROOT / info.filename),
                    doraise=True,
                    optimize=0,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            except py_compile.PyCompileError:
                skipped.append(info.filename)
                continue
            entry = zipfile.ZipInfo(pyc_name(info.filename), date_time=info.date_time)
            entry.external_attr, entry.create_system, entry.compress_type = info.external_attr, info.create_system, zipfile.ZIP_DEFLATED
            pycs.append((entry, compiled.read_bytes()))
    return pycs, skipped


def _is_cache_entry(name: str) -> bool:
    return "__pycache__" in PurePosixPath(name).parts


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A fresh ZipInfo with the entry's name, date, permissions and compression (writing mutates one)."""
    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    copy.external_attr, copy.create_system, copy.compress_type = info.external_attr, info.create_system, info.compress_type
    copy.comment, copy.internal_attr = info.comment, info.internal_attr
    return copy
