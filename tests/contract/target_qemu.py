"""The qemu provider on real QEMU processes (TCG), in a private directory per test.

Guests boot nothing (no kernel, blank disks: SeaBIOS finds no boot device and
waits), which is all the contract needs: QEMU runs them, answers QMP, and is
powered off by ``quit`` after a short ``stop_timeout`` (a guest without an OS
ignores the ACPI power button). The honesty check reads what QEMU runs from
the process itself (its command line in /proc, the image files) and records
the power operations QEMU receives: each process started, and each QMP
``system_powerdown``/``quit``/``system_reset`` and SIGKILL sent.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from contract.honesty import FieldEdit, Power, RawFields, Watch
from contract.targets import STACK, ContractTarget, Hypervisor
from provisioner.core.address import Kind

_DATA = {"volumes": {"data": {"provider": "hv", "size": "64MiB"},
                     "more": {"provider": "hv", "size": "64MiB"}}}
_LAB = {"networks": {"lab": {"provider": "hv", "mode": "private", "cidr": "10.44.0.0/24"},
                    "outside": {"provider": "hv", "mode": "user"}}}
QEMU_EDITS = [
    FieldEdit("cpus", {"cpus": 1}, {"cpus": 2}),
    FieldEdit("memory", {"memory": "128MiB"}, {"memory": "192MiB"}),
    FieldEdit("power", {}, {"power": "stopped"}),
    FieldEdit("lifecycle.prevent_destroy", {"lifecycle": {"prevent_destroy": True}}, {}),
    FieldEdit("disks", {}, {"disks": [{"size": "64MiB"}, {"size": "32MiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "96MiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "96MiB"}]}, stopped=True),
    FieldEdit("options", {}, {"options": {"machine": "pc"}}),
    FieldEdit("networks", {}, {"networks": [{"network": "lab"}]}, sections=_LAB),
    FieldEdit("networks[0].forwards", {"networks": [{"network": "outside"}]},
              {"networks": [{"network": "outside",
                             "forwards": [{"host": 22022, "guest": 22}]}]}, sections=_LAB),
    FieldEdit("dhcp", {}, {"dhcp": False}, Kind.NETWORK),
    FieldEdit("disks[1].volume", {"disks": [{"size": "64MiB"}, {"volume": "data"}]},
              {"disks": [{"size": "64MiB"}, {"volume": "more"}]}, sections=_DATA),
    FieldEdit("size", {}, {"size": "96MiB"}, Kind.VOLUME),
]
# Raw keys: "argv.OPTION[N]" (the QEMU command line, by option), "disk.FILE.size",
# "state", and "marker" (owner.json).
QEMU_RAW_FIELDS = RawFields((
    (r"argv\.-smp\[\d+\]", "cpus"), (r"argv\.-m\[\d+\]", "memory"),
    (r"argv\.-(blockdev|device)\[\d+\]", ("disks", "networks")),
    (r"argv\.-netdev\[\d+\]", "networks"), (r"disk\..*\.size", "disks"),
    (r"argv\.-(machine|kernel|initrd|append|boot)\[\d+\]", "options"),
    (r"state", "power"), (r"image\.size", "size"),
    (r"marker", None),
), transient=r"argv\..*")
_POWER_COMMANDS = {"system_powerdown": Power.STOP, "quit": Power.STOP,
                   "system_reset": Power.REBOOT, "stop": Power.SUSPEND}


class QemuTarget(ContractTarget):
    name = "qemu"
    removable_option = ("machine", "pc", None)
    kinds = frozenset({Kind.GUEST, Kind.NETWORK, Kind.VOLUME})
    honesty_kinds = frozenset({Kind.GUEST, Kind.NETWORK, Kind.VOLUME})
    network_in_place_edit = ("dhcp", False)
    foreign_kinds = frozenset()
    default_pool = "dir"
    field_edits = QEMU_EDITS
    raw_fields = QEMU_RAW_FIELDS
    honesty_untestable = {
        "guests.autostart": "refused at plan time: no daemon starts guests at boot",
        "networks.options": "the qemu provider declares no options for networks",
        "volumes.options": "the qemu provider declares no options for volumes",
    }

    def missing(self) -> str | None:
        if importlib.util.find_spec("qemu.qmp") is None:
            return "qemu.qmp is not installed: pip install 'provisioner[qemu]'"
        if shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None:
            return "QEMU is not installed: apt install qemu-system-x86 qemu-utils"
        return None

    def open(self, request: pytest.FixtureRequest, workdir: Path) -> Hypervisor:
        return QemuHypervisor(self, workdir)

    def unreachable_block(self) -> dict[str, Any]:
        return {"type": "qemu", "binary": "/nonexistent/qemu-system-x86_64",
                "dir": "/nonexistent/provisioner-qemu"}

    def sample_sections(self) -> dict[str, Any]:
        return {"networks": {"lab": self.network()}, "guests": {"web": {
            "provider": "hv", "cpus": 2, "memory": "256MiB",
            "disks": [{"size": "2GiB"}, {"size": "1GiB"}, {"volume": "data"}],
            "networks": [{"network": "lab", "ip": "10.42.0.10"}],
        }}, "volumes": {"data": {"provider": "hv", "size": "1GiB"}}}

    def network(self, **fields: Any) -> dict[str, Any]:
        return {"provider": "hv", "mode": "private", "cidr": "10.42.0.0/24", **fields}

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        if kind is Kind.VOLUME:
            return {"provider": "hv", "size": "64MiB"}
        return self.network() if kind is Kind.NETWORK else super().honest_base(kind)

    def small_guest(self, **fields: Any) -> dict[str, Any]:
        guest = super().small_guest(**fields)
        guest["memory"] = fields.get("memory", "128MiB")
        guest["disks"] = fields.get("disks", [{"size": "64MiB"}])
        return guest


class QemuHypervisor(Hypervisor):
    """A private directory of guests; every QEMU started in it is killed at the end."""

    def __init__(self, target: ContractTarget, workdir: Path) -> None:
        super().__init__(target, workdir)
        self.root = workdir / "qemu"

    def provider_block(self) -> dict[str, Any]:
        return {"type": "qemu", "dir": str(self.root), "accel": "tcg",
                "start_timeout": 0.3, "stop_timeout": 1}

    def define_untagged(self, kind: Kind, name: str) -> None:
        """A directory where a guest of the suite's stack would live, or a file where
        its network's marker would be, not made by it."""
        if kind in (Kind.NETWORK, Kind.VOLUME):
            place = self.root / STACK / "hv" / (".networks" if kind is Kind.NETWORK
                                                else ".volumes")
            place.mkdir(parents=True, exist_ok=True)
            (place / f"{name}.json").write_text("{}", encoding="utf-8")
            if kind is Kind.VOLUME:
                (place / f"{name}.qcow2").write_bytes(b"someone else's")
            return
        stray = self.root / STACK / "hv" / name
        stray.mkdir(parents=True)
        (stray / "disk0.qcow2").write_bytes(b"someone else's")

    def volume_names(self) -> set[str]:
        return {str(path.relative_to(self.root)) for path in self.root.rglob("*")
                if path.is_file() and path.suffix in (".qcow2", ".img", ".iso")}

    def definitions(self) -> str:
        texts = [path.read_text(encoding="utf-8", errors="replace")
                 for path in self.root.rglob("*.json")] if self.root.exists() else []
        return "\n".join(texts + [" ".join(argv) for argv in self._command_lines().values()])

    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        if kind is Kind.NETWORK:
            marker = self.root / STACK / "hv" / ".networks" / f"{name}.json"
            return {"marker": marker.read_text(encoding="utf-8")}
        if kind is Kind.VOLUME:
            volumes = self.root / STACK / "hv" / ".volumes"
            return {"marker": (volumes / f"{name}.json").read_text(encoding="utf-8"),
                    "image.size": _virtual_size(volumes / f"{name}.qcow2")}
        directory = self.root / STACK / "hv" / name
        raw = {"marker": (directory / "owner.json").read_text(encoding="utf-8")}
        argv = self._command_lines().get(directory)
        raw["state"] = "running" if argv else "stopped"
        for option, values in _by_option(argv or []).items():
            for index, value in enumerate(values):
                raw[f"argv.{option}[{index}]"] = value
        for disk in sorted(directory.glob("disk*")):
            raw[f"disk.{disk.name}.size"] = _virtual_size(disk)
        return raw

    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        with watch_qemu(self.root / STACK / "hv" / name) as watch:
            yield watch

    def close(self) -> None:
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _pids(self) -> list[int]:
        pids = []
        for pidfile in self.root.rglob("qemu.pid") if self.root.exists() else []:
            with contextlib.suppress(OSError, ValueError):
                pids.append(int(pidfile.read_text().strip()))
        return pids

    def _command_lines(self) -> dict[Path, list[str]]:
        """The command line of each running QEMU of this test, by guest directory."""
        found = {}
        for pidfile in self.root.rglob("qemu.pid") if self.root.exists() else []:
            try:
                pid = int(pidfile.read_text().strip())
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            except (OSError, ValueError):
                continue
            found[pidfile.parent] = [arg for arg in argv if arg]
        return found


def _virtual_size(image: Path) -> str:
    info = subprocess.run(["qemu-img", "info", "--output=json", "-U", str(image)],
                          capture_output=True, text=True, check=True)
    return str(json.loads(info.stdout)["virtual-size"])


def _by_option(argv: list[str]) -> dict[str, list[str]]:
    """``-smp 2 -m 128M ...`` → {"-smp": ["2"], "-m": ["128M"], ...}."""
    options: dict[str, list[str]] = {}
    for index, word in enumerate(argv[1:], start=1):
        if word.startswith("-"):
            value = argv[index + 1] if index + 1 < len(argv) else ""
            options.setdefault(word, []).append("" if value.startswith("-") else value)
    return options


@contextmanager
def watch_qemu(directory: Path) -> Iterator[Watch]:
    """Power operations sent to the QEMU of the guest in ``directory`` through the qemu
    provider's client: a start, the QMP commands that stop or reset it, SIGKILL."""
    from qemu.qmp.legacy import QEMUMonitorProtocol

    from provisioner.providers.qemu.client import QemuHost
    from provisioner.providers.qemu.files import GuestFiles

    watch = Watch()
    launch, kill, command = QemuHost.launch, QemuHost.kill, QEMUMonitorProtocol.cmd
    files = GuestFiles.at(directory)
    ours, socket = f"guest={files.process_name}", str(files.socket)

    def launched(host: QemuHost, arguments: Any, what: str) -> None:
        if ours in arguments:
            watch.power.append(Power.START)
        launch(host, arguments, what)

    def killed(host: QemuHost, process: Any) -> None:
        if host.process(files.pidfile, files.process_name) == process:
            watch.power.append(Power.STOP)
        kill(host, process)

    def commanded(monitor: QEMUMonitorProtocol, name: str, **arguments: Any) -> Any:
        if name in _POWER_COMMANDS and str(getattr(monitor, "_address", "")) == socket:
            watch.power.append(_POWER_COMMANDS[name])
        return command(monitor, name, **arguments)

    QemuHost.launch, QemuHost.kill = launched, killed  # type: ignore[method-assign]
    QEMUMonitorProtocol.cmd = commanded  # type: ignore[method-assign]
    try:
        yield watch
    finally:
        QemuHost.launch, QemuHost.kill = launch, kill  # type: ignore[method-assign]
        QEMUMonitorProtocol.cmd = command  # type: ignore[method-assign]
