"""The qemu provider's networks as QEMU arguments, network-config and plan-time
problems: pure functions of the specs (the real QEMU runs them in
tests/e2e/test_qemu_networks.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec, NetworkSpec
from provisioner.errors import ProviderError
from provisioner.providers.qemu.command import command_line
from provisioner.providers.qemu.files import GuestFiles, Tree
from provisioner.providers.qemu.networks import Networks
from provisioner.providers.qemu.nic_checks import network_problems, nic_problems
from provisioner.providers.qemu.ownership import Ownership
from provisioner.stack.model import Nic

NETWORKS = {"lab": {"mode": "private", "cidr": "10.77.0.0/24"},
            "outside": {"mode": "user", "cidr": "10.9.0.0/24"}}


@pytest.fixture
def networks(tmp_path: Path) -> Networks:
    made = Networks(Tree(tmp_path, "s", "local"), Ownership("s", "local"))
    for name, spec in NETWORKS.items():
        made.write(Resource(Address(Kind.NETWORK, name), "local", spec))
    return made


def _guest(*nics: dict[str, Any]) -> GuestSpec:
    return GuestSpec.of({"cpus": 1, "memory": 1 << 27, "networks": list(nics)})


def test_nics_become_user_and_multicast_netdevs(networks: Networks, tmp_path: Path) -> None:
    guest = _guest({"network": "lab"}, {"network": "outside", "forwards": [
        {"host": "2230", "guest": 22}, {"host": 8080, "guest": 80, "protocol": "tcp",
                                        "address": "0.0.0.0"}]})
    devices = networks.devices("web", guest, "guests.web")
    group, port = networks.group("lab")
    assert devices[0].netdev == f"socket,id=net0,mcast={group}:{port},localaddr=127.0.0.1"
    assert group.startswith("239.77.") and 20000 <= port < 60000
    assert devices[1].netdev == ("user,id=net1,net=10.9.0.0/24,"
                                 "hostfwd=tcp:127.0.0.1:2230-:22,hostfwd=tcp:0.0.0.0:8080-:80")
    argv = command_line(GuestFiles.at(tmp_path / "web"), guest, "tcg", None, devices)
    assert argv[-8:] == ["-netdev", devices[0].netdev, "-device", devices[0].device,
                         "-netdev", devices[1].netdev, "-device", devices[1].device]
    assert devices[0].device == f"virtio-net-pci,netdev=net0,mac={devices[0].mac},id=net0-device"


def test_macs_are_stable_distinct_and_the_stacks_win(networks: Networks) -> None:
    guest = _guest({"network": "lab"}, {"network": "lab"})
    first = [d.mac for d in networks.devices("web", guest, "w")]
    assert first == [d.mac for d in networks.devices("web", guest, "w")]
    assert len(set(first + [d.mac for d in networks.devices("db", guest, "d")])) == 4
    assert all(mac.startswith("52:54:00:") for mac in first)
    chosen = _guest({"network": "lab", "mac": "52:54:00:aa:bb:cc"})
    assert networks.devices("web", chosen, "w")[0].mac == "52:54:00:aa:bb:cc"


def test_network_config_gives_static_addresses_and_dhcp(networks: Networks) -> None:
    guest = _guest({"network": "lab", "ip": "10.77.0.11"}, {"network": "outside"})
    text = networks.network_config("web", guest, "guests.web")
    assert text is not None
    macs = [d.mac for d in networks.devices("web", guest, "w")]
    assert yaml.safe_load(text) == {"version": 2, "ethernets": {
        "nic0": {"match": {"macaddress": macs[0]}, "dhcp4": False,
                 "addresses": ["10.77.0.11/24"]},
        "nic1": {"match": {"macaddress": macs[1]}, "dhcp4": True}}}
    assert networks.network_config("web", _guest(), "w") is None


def test_a_network_not_made_is_an_error_naming_it(networks: Networks) -> None:
    with pytest.raises(ProviderError, match="'elsewhere' is not one of this provider"):
        networks.devices("web", _guest({"network": "elsewhere"}), "guests.web")


def _wait_for_arguments(pid: int) -> None:
    """/proc/PID/cmdline is empty for a moment after exec() let the parent go on."""
    for _ in range(500):
        if b"-netdev" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never showed its arguments")


def test_a_guest_running_with_a_replaced_networks_settings_shows_it(
        networks: Networks) -> None:
    guest = _guest({"network": "lab"}, {"network": "outside"})
    started = [device.netdev for device in networks.devices("web", guest, "w")]
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    process = subprocess.Popen([*argv, "-netdev", started[0], "-netdev", started[1]])
    try:
        _wait_for_arguments(process.pid)
        assert networks.stale_nics(process.pid, "web", guest) == []
        before = {live.name: live for live in networks.inventory()}
        networks.write(Resource(Address(Kind.NETWORK, "outside"), "local",
                                {"mode": "user", "cidr": "10.8.0.0/24"}))
        assert networks.stale_nics(process.pid, "web", guest) == [1]
        # what one bulk read found is used as it is, with no file read per guest
        assert networks.stale_nics(process.pid, "web", guest, before) == []
    finally:
        process.kill()
        process.wait()


def test_a_process_whose_arguments_cannot_be_read_is_not_called_stale(
        networks: Networks) -> None:
    """A zombie (or a process still inside exec()) has an empty cmdline: no NIC of it
    is reported as changed, rather than every one."""
    guest = _guest({"network": "lab"})
    reaping = signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # else no zombie is left
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(500):  # a zombie ("Z"): before exec() ends the cmdline is empty too,
            # and a moment later it is python's own (a race seen in CI)
            if Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the process never became a zombie")
        assert networks.stale_nics(process.pid, "web", guest) == []
    finally:
        process.wait()
        signal.signal(signal.SIGCHLD, reaping)


def _resource(name: str, *nics: dict[str, Any]) -> tuple[Resource, GuestSpec]:
    spec = {"cpus": 1, "memory": 1 << 27, "networks": list(nics)}
    return Resource(Address(Kind.GUEST, name), "local", spec), GuestSpec.of(spec)


def test_nic_problems_name_the_field_and_the_other_guest() -> None:
    specs = {name: NetworkSpec.of(spec) for name, spec in NETWORKS.items()}
    specs["bare"] = NetworkSpec.of({"mode": "private"})
    forward = {"host": 2222, "guest": 22}
    problems = nic_problems([
        _resource("a", {"network": "outside", "forwards": [forward]}),
        _resource("b", {"network": "outside", "forwards": [forward]},
                  {"network": "lab", "forwards": [forward]}, {"bridge": "br0"},
                  {"network": "bare", "ip": "10.0.0.1"}, {"network": "outside", "ip": "10.9.0.9"},
                  {"network": "theirs"}),
    ], specs)
    found = {(str(p.address), p.path): p.summary for p in problems}
    assert found[("guests.b", "networks[0].forwards[0].host")] == \
        "tcp port 2222 is also forwarded by guests.a"
    assert "need a user-mode network; 'lab' is private" in found[("guests.b",
                                                                 "networks[1].forwards")]
    assert "needs root" in found[("guests.b", "networks[2].bridge")]
    assert "cidr" in found[("guests.b", "networks[3].ip")]
    assert "QEMU's DHCP" in found[("guests.b", "networks[4].ip")]
    assert "another provider block's" in found[("guests.b", "networks[5].network")]
    assert len(problems) == 7  # and networks[1].forwards[0].host: 2222 again


def test_network_problems_refuse_other_modes_and_keys() -> None:
    resource = Resource(Address(Kind.NETWORK, "n"), "local",
                        {"mode": "nat", "cidr": "10.1.0.0/24", "domain": "lab"})
    assert [(p.path, p.summary) for p in network_problems(resource)] == [
        ("mode", "nat is not a mode of the qemu provider"),
        ("domain", "is not supported by the qemu provider")]


@pytest.mark.parametrize("host", [2222, "2222", "222${count.index}"])
def test_a_forwarded_port_is_a_number_or_a_count_template(host: object) -> None:
    nic = Nic.model_validate({"network": "n", "forwards": [{"host": host, "guest": 22}]})
    assert nic.forwards is not None and nic.forwards[0].host == host


@pytest.mark.parametrize("host", [0, 70000, "ssh", "9999${count.index}"])
def test_a_port_out_of_range_is_refused(host: object) -> None:
    with pytest.raises(ValidationError, match="port number from 1 to 65535"):
        Nic.model_validate({"network": "n", "forwards": [{"host": host, "guest": 22}]})
