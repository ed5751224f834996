"""Checks of the bytecode in a deployment zip, shared by the packaging tests and the deploy rehearsal."""

from __future__ import annotations

import importlib.util
import marshal
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.bytecode import TASK_ROOT, pyc_name

UNCHECKED_HASH = 0b01  # the pyc header's flags: hash-based (bit 0), check_source off (bit 1)


@dataclass(frozen=True)
class ZipBytecode:
    sources: list[str]
    """Every ``.py`` in the zip."""
    without_pyc: list[str]
    """``.py`` files with no pyc at their ``__pycache__`` name."""
    bad: list[str]
    """pycs that are not unchecked-hash pycs of this Python made from the source beside them, with why."""
    stray: list[str]
    """``__pycache__`` entries that are no ``.py`` file's pyc of this Python (stale or foreign bytecode)."""


def inspect_zip(path: Path) -> ZipBytecode:
    with zipfile.ZipFile(path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        sources = sorted(name for name in infos if name.endswith(".py"))
        expected = {pyc_name(name): name for name in sources}
        bad = []
        for pyc, source in expected.items():
            if pyc in infos:
                bad.extend(f"{pyc}: {why}" for why in _problems(archive.read(pyc), archive.read(source), source))
                if infos[pyc].external_attr != infos[source].external_attr:
                    bad.append(f"{pyc}: permissions {infos[pyc].external_attr >> 16:o}, source {infos[source].external_attr >> 16:o}")
        return ZipBytecode(
            sources=sources,
            without_pyc=[name for name in sources if pyc_name(name) not in infos],
            bad=bad,
            stray=sorted(name for name in infos if "__pycache__" in name.split("/") and name not in expected),
        )


def _problems(pyc: bytes, source: bytes, name: str) -> Iterable[str]:
    if pyc[:4] != importlib.util.MAGIC_NUMBER:
        yield f"magic {pyc[:4]!r}, not this Python's {importlib.util.MAGIC_NUMBER!r}"
    flags = int.from_bytes(pyc[4:8], "little")
    if flags != UNCHECKED_HASH:
        yield f"flags {flags:#04b}, not unchecked-hash {UNCHECKED_HASH:#04b}"
    if pyc[8:16] != importlib.util.source_hash(source):
        yield "made from another source"
    code = marshal.loads(pyc[16:])  # noqa: S302 - our own build output
    if code.co_filename != str(TASK_ROOT / name):
        yield f"code object names {code.co_filename}"


def own_code(names: Iterable[str]) -> list[str]:
    """The names that are the service's own code (app.py, chalicelib/), not a dependency's."""
    return [name for name in names if name == "app.py" or name.startswith("chalicelib/")]
