"""The machine and the versions a run measured, for the doc's head."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

from bench.context import ROOT


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                             check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


def _cpu() -> str:
    text = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", text)
    return model.group(1).strip() if model else platform.processor()


def _memory_gib() -> float:
    text = Path("/proc/meminfo").read_text()
    kib = int(re.search(r"MemTotal:\s+(\d+)", text).group(1))  # type: ignore[union-attr]
    return kib / 1024 / 1024


def _os() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return platform.platform()
    match = re.search(r'PRETTY_NAME="([^"]+)"', text)
    return match.group(1) if match else platform.platform()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git() -> str:
    commit = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                            "provisioner"], capture_output=True, text=True,
                           check=False).stdout.strip()
    return commit + (" with uncommitted changes in provisioner/" if dirty else "")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def describe(extra: dict[str, str]) -> list[tuple[str, str]]:
    import libvirt
    major, rest = divmod(libvirt.getVersion(), 1_000_000)
    minor, micro = divmod(rest, 1000)
    kvm = subprocess.run([str(ROOT / "scripts" / "kvm-works")], capture_output=True,
                         check=False).returncode
    return [
        ("CPU", f"{_cpu()}, {os.cpu_count()} cores"),
        ("memory", f"{_memory_gib():.1f} GiB"),
        ("system", f"{_os()}, Linux {platform.release()}"),
        ("Python", platform.python_version()),
        ("provisioner", f"{_version('provisioner')} (git {_git()})"),
        ("libvirt", f"{major}.{minor}.{micro}; libvirt-python {_version('libvirt-python')}"),
        ("QEMU", _first_line(["qemu-system-x86_64", "--version"])),
        ("guests use", "KVM" if kvm == 0 else "TCG (no working KVM here: scripts/kvm-works)"),
        ("fakepve", _version("fakepve")),
        ("pydantic / networkx / PyYAML / typer", " / ".join(
            _version(p) for p in ("pydantic", "networkx", "PyYAML", "typer"))),
        ("profiler", f"pyinstrument {_version('pyinstrument')}"),
        *extra.items(),
    ]
