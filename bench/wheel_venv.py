"""provisioner as a user gets it: its wheel installed in a new virtual environment.

The start-up benchmark and the peers' provisioner rows run this console script (made
once per run of the benchmarks): the development install's
interpreter may carry ``.pth`` files (an editable finder; on these machines a file
that imports certifi at every start), which a user's ``pip install`` into a venv does
not have. The venv gets the same versions of every dependency as this interpreter
(``pip freeze`` as constraints), from pip's cache or the package index.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.context import ROOT, Context, provisioner_command

PIP = ["--quiet", "--disable-pip-version-check"]
EXTRAS = "libvirt,qemu,proxmox"
"""The providers the benchmarks run through the console script."""

_made: dict[Path, Path | None] = {}
"""Each work directory's venv script (or None: it could not be made), made once."""


def user_command(ctx: Context) -> list[str]:
    """How a user who installed the wheel runs provisioner: the venv's console
    script, or the development install's when no venv can be made here."""
    installed = installed_script(ctx)
    return [str(installed)] if installed else provisioner_command()


def installed_script(ctx: Context) -> Path | None:
    """The ``provisioner`` script of a fresh venv holding this checkout's wheel with
    the ``EXTRAS``, byte-compiled; None (logged) if it cannot be made here."""
    if ctx.work not in _made:
        _made[ctx.work] = _make(ctx)
    return _made[ctx.work]


def _make(ctx: Context) -> Path | None:
    work = ctx.dir("wheel-venv")
    venv, wheels = work / "venv", work / "wheels"
    constraints = work / "constraints.txt"
    try:
        frozen = _run([sys.executable, "-m", "pip", "freeze", *PIP[1:]], ROOT)
        constraints.write_text("\n".join(line for line in frozen.splitlines()
                                         if line and not line.startswith(("-e ", "#"))
                                         and not line.lower().startswith("provisioner"))
                               + "\n", encoding="utf-8")
        _run([sys.executable, "-m", "pip", "wheel", *PIP, "--no-deps", "-w", str(wheels),
              str(ROOT)], ROOT)
        wheel = next(wheels.glob("provisioner-*.whl"))
        _run([sys.executable, "-m", "venv", "--clear", str(venv)], ROOT)
        _run([str(venv / "bin" / "pip"), "install", *PIP, "-c", str(constraints),
              f"{wheel}[{EXTRAS}]"], work)
        _run([str(venv / "bin" / "python"), "-m", "compileall", "-q",
              str(_site_packages(venv) / "provisioner")], work)
    except (subprocess.CalledProcessError, StopIteration, OSError) as exc:
        ctx.log(f"no venv with the wheel ({exc}); measuring the development install "
                "instead")
        return None
    return venv / "bin" / "provisioner"


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def _run(command: list[str], cwd: Path) -> str:
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True,
                          timeout=900).stdout
