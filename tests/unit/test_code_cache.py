"""The dataclasses' compiled methods kept between runs (provisioner/code_cache.py):
a second run compiles nothing and its classes behave as the first's; a file
others may write, a damaged file and the switch turn it off; the file keeps only
dataclass code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

RUN = textwrap.dedent("""
    import dataclasses, json
    from provisioner import code_cache
    code_cache.install()

    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 2
        tags: tuple[str, ...] = ()

    point = Point(1)
    try:
        point.x = 5
        frozen = False
    except dataclasses.FrozenInstanceError:
        frozen = True
    installed = "exec" in vars(dataclasses)
    print(json.dumps({"repr": repr(point), "eq": point == Point(1, 2), "hash": hash(point) ==
                      hash(Point(1)), "frozen": frozen, "installed": installed}))
""")


def _run(home: Path, **env: str) -> dict[str, object]:
    result = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True,
                            timeout=60, check=False,
                            env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(home), **env})
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


def _cache_files(home: Path) -> list[Path]:
    return sorted((home / "provisioner").glob("dataclass-code.*.marshal"))


EXPECTED = {"repr": "Point(x=1, y=2, tags=())", "eq": True, "hash": True, "frozen": True,
            "installed": True}


def test_the_second_run_uses_what_the_first_compiled(tmp_path: Path) -> None:
    assert _run(tmp_path) == EXPECTED
    [written] = _cache_files(tmp_path)
    assert written.stat().st_mode & 0o777 == 0o600
    first = written.read_bytes()
    before = written.stat().st_mtime_ns
    assert _run(tmp_path) == EXPECTED
    assert written.stat().st_mtime_ns == before, "nothing new compiled: not written again"
    assert written.read_bytes() == first


def test_its_code_is_what_compile_gives(tmp_path: Path) -> None:
    _run(tmp_path)
    [written] = _cache_files(tmp_path)
    import marshal

    kept = marshal.loads(written.read_bytes())
    assert kept, "the dataclass's methods are kept"
    for source, code in kept.items():
        assert "__create_fn__" in source, "only dataclasses' generated functions"
        assert marshal.dumps(code) == marshal.dumps(compile(source, "<string>", "exec"))


def test_a_file_others_may_write_is_not_read(tmp_path: Path) -> None:
    _run(tmp_path)
    [written] = _cache_files(tmp_path)
    os.chmod(written, 0o666)
    assert _run(tmp_path) == EXPECTED
    assert written.stat().st_mode & 0o777 == 0o600, \
        "not read: the run compiled its own, and wrote them in a private file"


def test_a_damaged_file_is_compiled_again(tmp_path: Path) -> None:
    _run(tmp_path)
    [written] = _cache_files(tmp_path)
    written.write_bytes(b"\x00not marshal")
    os.chmod(written, 0o600)
    assert _run(tmp_path) == EXPECTED
    import marshal

    assert marshal.loads(written.read_bytes()), "rewritten whole"


def test_the_switch_turns_it_off(tmp_path: Path) -> None:
    assert _run(tmp_path, PROVISIONER_CODE_CACHE="0") == {**EXPECTED, "installed": False}
    assert _cache_files(tmp_path) == []


def test_a_relative_cache_home_is_not_used(tmp_path: Path) -> None:
    result = _run(tmp_path / "unused", XDG_CACHE_HOME="relative/cache", HOME=str(tmp_path))
    assert result == {**EXPECTED, "installed": False}


def test_without_uids_there_is_no_cache(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    """Windows (Hyper-V hosts run provisioner there) has no os.getuid: no owner to
    check, so no file is read or written."""
    from provisioner import code_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert code_cache.cache_path() is not None
    monkeypatch.delattr(os, "getuid")
    assert code_cache.cache_path() is None
