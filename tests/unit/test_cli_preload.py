"""pydantic imported without asyncio (cli/preload.py): asyncio stays out of a command's
process, and one imported afterwards is the real module, whole."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent("""
    import sys
    from provisioner.cli.preload import import_pydantic

    import_pydantic(with_typer=True)
    assert "asyncio" not in sys.modules, "asyncio was imported"
    assert "asyncio.coroutines" not in sys.modules, "the stand-in was left behind"
    import pydantic

    class Model(pydantic.BaseModel):
        size: int

    assert Model.model_validate({"size": 1}).size == 1
    import warnings
    with warnings.catch_warnings(record=True) as caught:  # a @deprecated method still warns
        warnings.simplefilter("always")
        Model(size=2).dict()
    assert any("deprecated" in str(w.message) for w in caught), caught

    import asyncio

    async def answer():
        return 42

    assert asyncio.run(answer()) == 42
    assert asyncio.coroutines.iscoroutinefunction(answer)
    print("ok")
""")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)


def test_pydantic_loads_without_asyncio_and_asyncio_works_afterwards() -> None:
    result = _run(CHECK)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_without_the_stand_in_pydantic_would_load_asyncio() -> None:
    """What the stand-in saves: if this stops being true (Python 3.13's
    warnings.deprecated, a typing_extensions that no longer asks asyncio), preload.py
    can go."""
    result = _run("import sys, pydantic.main; print('asyncio' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


PLUGINS = textwrap.dedent("""
    import sys
    from provisioner.cli.preload import import_pydantic

    import_pydantic(with_typer=False)
    import pydantic

    class Model(pydantic.BaseModel):
        size: int

    assert Model.model_validate({"size": 1}).size == 1  # its validator is built now
    print(sorted(name for name in ("importlib.metadata", "email")
                 if name in sys.modules))
""")


def test_with_plugins_off_no_plugin_loader_is_imported() -> None:
    """PYDANTIC_DISABLE_PLUGINS=__all__ (the console script's default): models build
    and validate, and pydantic's plugin loader with its importlib.metadata is not
    imported; with plugins on, it is, as pydantic has it."""
    off = subprocess.run([sys.executable, "-c", PLUGINS], capture_output=True, text=True,
                         timeout=60, check=False,
                         env={"PYDANTIC_DISABLE_PLUGINS": "__all__", "PATH": "/usr/bin:/bin"})
    assert off.returncode == 0 and off.stdout.strip() == "[]", off.stderr
    on = subprocess.run([sys.executable, "-c", PLUGINS], capture_output=True, text=True,
                        timeout=60, check=False, env={"PATH": "/usr/bin:/bin"})
    assert on.returncode == 0, on.stderr
    assert "importlib.metadata" in on.stdout
