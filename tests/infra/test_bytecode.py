"""tools/bytecode.py on a small zip made here (no chalice package, no PyPI): what is compiled, skipped,
dropped and kept, the refusal of a foreign runtime, and reading the runtime from a template."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.infra.zip_bytecode import inspect_zip
from tools.bytecode import BytecodeError, add_bytecode, interpreter_runtime, pyc_name, template_runtime

CHALICE_DATE = (1980, 1, 1, 0, 0, 0)
FILES = {
    "app.py": (0o100644, b"from chalicelib import handler\n"),
    "chalicelib/__init__.py": (0o100644, b""),
    "chalicelib/handler.py": (0o100755, b'"""Doc."""\n\ndef handle():\n    assert True\n    return "\xc3\xa9"\n'),
    "chalicelib/templates/page.html": (0o100644, b"<p>{{ x }}</p>\n"),
    "chalicelib/__pycache__/handler.cpython-311.pyc": (0o100644, b"a timestamp pyc of a working tree"),
    "legacy/__pycache__/gone.cpython-311.pyc": (0o100644, b"bytecode of a module that has no source here"),
    "somewheel/tests/py2_only.py": (0o100644, b'print "hello"\n'),
    "somewheel/latin1.py": (0o100644, b"# -*- coding: latin-1 -*-\nNAME = '\xe9'\n"),
    "_native.cpython-311-x86_64-linux-gnu.so": (0o100755, b"\x7fELF not really"),
}


def make_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (mode, data) in reversed(FILES.items()):  # not in name order, as chalice writes them
            info = zipfile.ZipInfo(name, CHALICE_DATE)
            info.external_attr, info.compress_type = mode << 16, zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def test_every_source_that_compiles_gets_an_unchecked_hash_pyc_and_nothing_else_changes(tmp_path: Path) -> None:
    source = make_zip(tmp_path / "chalice.zip")
    result = add_bytecode(source, tmp_path / "ours.zip", interpreter_runtime())

    assert (result.compiled, result.skipped) == (4, ("somewheel/tests/py2_only.py",))
    assert result.dropped == ("chalicelib/__pycache__/handler.cpython-311.pyc", "legacy/__pycache__/gone.cpython-311.pyc")
    found = inspect_zip(tmp_path / "ours.zip")
    assert (found.without_pyc, found.bad, found.stray) == (["somewheel/tests/py2_only.py"], [], [])
    with zipfile.ZipFile(tmp_path / "ours.zip") as archive:
        infos = archive.infolist()
        assert [info.filename for info in infos] == sorted(
            [name for name in FILES if "__pycache__" not in name]
            + [pyc_name(name) for name in ("app.py", "chalicelib/__init__.py", "chalicelib/handler.py", "somewheel/latin1.py")]
        )
        for info in infos:
            origin = _source_of(info.filename) if "__pycache__" in info.filename else info.filename
            assert (info.external_attr >> 16, info.date_time, info.compress_type) == (FILES[origin][0], CHALICE_DATE, zipfile.ZIP_DEFLATED), info.filename
            if origin == info.filename:
                assert archive.read(info) == FILES[info.filename][1]
    assert result.zip_bytes_after - result.zip_bytes_before == (tmp_path / "ours.zip").stat().st_size - source.stat().st_size
    assert result.unzipped_bytes_before == sum(len(data) for _, data in FILES.values())


def test_the_same_input_gives_the_same_bytes_and_a_second_pass_changes_nothing(tmp_path: Path) -> None:
    source = make_zip(tmp_path / "chalice.zip")
    add_bytecode(source, tmp_path / "one.zip", interpreter_runtime())
    add_bytecode(make_zip(tmp_path / "again.zip"), tmp_path / "two.zip", interpreter_runtime())
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    again = add_bytecode(tmp_path / "one.zip", tmp_path / "one.zip", interpreter_runtime())  # in place
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    assert (again.compiled, len(again.dropped)) == (4, 4)


def test_a_runtime_other_than_this_python_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    source = make_zip(tmp_path / "chalice.zip")
    with pytest.raises(BytecodeError, match=r"the functions run python3\.9, but this is Python 3\.\d+ .*package with python3\.9"):
        add_bytecode(source, tmp_path / "ours.zip", "python3.9")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["chalice.zip"]


def test_the_runtime_comes_from_the_packaged_template(tmp_path: Path) -> None:
    def template(*runtimes: str) -> Path:
        path = tmp_path / "sam.json"
        functions = {f"F{i}": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": runtime}} for i, runtime in enumerate(runtimes)}
        path.write_text(json.dumps({"Resources": {**functions, "Role": {"Type": "AWS::IAM::Role", "Properties": {}}}}))
        return path

    assert template_runtime(template("python3.11", "python3.11")) == "python3.11"
    with pytest.raises(BytecodeError, match=r"expected one Runtime for all functions, found \['python3\.11', 'python3\.12'\]"):
        template_runtime(template("python3.11", "python3.12"))


def _source_of(pyc: str) -> str:
    directory, _, file = pyc.rpartition("__pycache__/")
    return directory + file.split(".", 1)[0] + ".py"
