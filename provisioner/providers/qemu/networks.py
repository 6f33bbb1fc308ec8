"""Networks of the qemu provider, without root and without a daemon.

Two modes, both run by the guests' own QEMU processes:

- ``user``: QEMU's user-mode network stack (slirp). Each guest gets its own
  private NAT with DHCP (``10.0.2.15`` by default, or the network's ``cidr``)
  and reaches the outside through the host's sockets; nothing reaches the guest
  but the ports its NIC forwards (``forwards: [{host: 2222, guest: 22}]``,
  listening on 127.0.0.1 unless ``address`` says otherwise). Guests of one user
  network do not see each other.
- ``private``: one Ethernet segment for the guests of the network, carried by
  UDP multicast on the loopback interface (``-netdev socket,mcast=...,
  localaddr=127.0.0.1``): every QEMU of the network joins one group, so the
  guests see each other as on a hub, and nothing leaves the host. There is no
  DHCP: each NIC's ``ip:`` reaches its guest through the cloud-init
  network-config the provider writes (unless the stack gives its own). Any
  process of the host may join a multicast group: a private network separates
  guests from the outside, not from the host's other users.

The group and port of a private network derive from its directory (stack,
provider block and network name), so two stacks never share one by accident.
A network itself is only a marker file (``.networks/NAME.json``) naming its
settings: what a guest's QEMU is started with. A changed ``mode`` or ``cidr``
replaces the network (and the planner restarts the guests attached); a guest
running with the old settings anyway (its QEMU's
``-netdev`` arguments differ from what it would get now) then plans as
``networks[N].network: "lab (changed since the guest started)" -> "lab"``, a
restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from provisioner.core.address import Address
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec, NetworkSpec, NicSpec
from provisioner.errors import ProviderError
from provisioner.providers.qemu.files import Tree
from provisioner.providers.qemu.ownership import Ownership, read_marker

MODES = ("user", "private")
NIC_MODELS = {"virtio": "virtio-net-pci", "e1000": "e1000", "e1000e": "e1000e",
              "rtl8139": "rtl8139"}
"""The NIC models offered (stack name → QEMU device); virtio by default."""
GROUP_PREFIX = "239.77"
"""Private networks' multicast groups: 239.77.X.Y (administratively scoped)."""
PORT_BASE, PORT_SPAN = 20000, 40000


@dataclass(frozen=True)
class NicDevice:
    """One guest NIC on QEMU's command line: its ``-netdev`` and ``-device``."""

    netdev: str
    device: str
    mac: str


class Networks:
    """One provider block's networks: their marker files, and what a guest's NICs
    become on its command line and in its network-config."""

    def __init__(self, tree: Tree, ownership: Ownership) -> None:
        self.tree = tree
        self.ownership = ownership

    def write(self, resource: Resource) -> None:
        """Create or change a network: write its marker (atomically)."""
        self.tree.networks.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.ownership.write(self.tree.network(resource.name), resource.address, resource.spec)

    def delete(self, live: LiveObject) -> None:
        path = self.tree.network(live.name)
        marker = read_marker(path)
        if marker is not None and not self.ownership.owns_at(marker, live.marker_address):
            raise ProviderError(f"{live.address}: {path} is {self.ownership.whose(marker)}")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.tree.prune()

    def inventory(self) -> list[LiveObject]:
        """Every network of this block, as its marker says."""
        found = []
        for path in sorted(self.tree.networks.glob("*.json")) if self.tree.networks.is_dir() \
                else []:
            marker = read_marker(path)
            if marker is None or not self.ownership.owns(marker):
                continue
            found.append(self._live(path.stem, marker.address, dict(marker.memo)))
        return found

    def read(self, name: str) -> LiveObject | None:
        marker = read_marker(self.tree.network(name))
        if marker is None or not self.ownership.owns(marker):
            return None
        return self._live(name, marker.address, dict(marker.memo))

    def _live(self, name: str, address: Address, spec: dict[str, object]) -> LiveObject:
        network = NetworkSpec.of(spec)
        attributes: dict[str, object] = {"mode": network.mode}
        if network.mode == "private":
            group, port = self.group(name)
            attributes["multicast"] = f"{group}:{port}"
        return LiveObject(address, self.ownership.provider, name,
                          str(self.tree.network(name)), spec, attributes)

    def group(self, name: str) -> tuple[str, int]:
        """The multicast group and port of private network ``name``."""
        digest = hashlib.sha256(str(self.tree.network(name)).encode()).digest()
        port = PORT_BASE + int.from_bytes(digest[2:5], "big") % PORT_SPAN
        return f"{GROUP_PREFIX}.{digest[0]}.{max(1, digest[1])}", port

    def mac(self, guest: str, index: int, nic: NicSpec) -> str:
        """The NIC's MAC: the stack's, or one derived from its place (stable across runs)."""
        if nic.mac:
            return nic.mac
        digest = hashlib.sha256(f"{self.tree.base}/{guest}/{index}".encode()).digest()
        return "52:54:00:" + ":".join(f"{byte:02x}" for byte in digest[:3])

    def specs(self, guest: GuestSpec, what: str,
              known: Mapping[str, LiveObject] | None = None) -> list[NetworkSpec]:
        """The network of each NIC, as its marker holds it (or as ``known``, the
        networks one bulk read found); raises if one is not made."""
        found = []
        for index, nic in enumerate(guest.networks):
            live = None
            if nic.network:
                live = self.read(nic.network) if known is None else known.get(nic.network)
            if live is None:
                raise ProviderError(f"{what}: networks[{index}]: the network "
                                    f"'{nic.attachment}' is not one of this provider block's",
                                    hint="declare it under networks: with this provider")
            found.append(NetworkSpec.of(live.spec))
        return found

    def devices(self, name: str, guest: GuestSpec, what: str,
                known: Mapping[str, LiveObject] | None = None) -> list[NicDevice]:
        """The NICs of guest ``name`` as QEMU arguments, in order."""
        networks = self.specs(guest, what, known)
        devices = []
        for index, (nic, network) in enumerate(zip(guest.networks, networks, strict=True)):
            mac = self.mac(name, index, nic)
            netdev = f"net{index}"
            if network.mode == "user":
                backend = [f"user,id={netdev}"]
                backend += [f"net={network.cidr}"] if network.cidr else []
                backend += [f"hostfwd={f.protocol}:{f.address}:{f.host}-:{f.guest}"
                            for f in nic.forwards]
            else:
                group, port = self.group(str(nic.network))
                backend = [f"socket,id={netdev}", f"mcast={group}:{port}",
                           "localaddr=127.0.0.1"]
            model = NIC_MODELS.get(nic.model or "virtio", nic.model or "virtio-net-pci")
            devices.append(NicDevice(",".join(backend),
                                     f"{model},netdev={netdev},mac={mac},id={netdev}-device",
                                     mac))
        return devices

    def stale_nics(self, pid: int, name: str, guest: GuestSpec,
                   known: Mapping[str, LiveObject] | None = None) -> list[int]:
        """The NICs of the running guest whose network changed since its QEMU started
        (its ``-netdev`` arguments, read from /proc, are not what it would get now);
        ``known``: the networks as the bulk read found them (no file read per guest)."""
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            return []
        if argv == [""]:  # a zombie, or a process still inside exec(): nothing to tell
            return []
        started = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == "-netdev"]
        try:
            now = [device.netdev for device in self.devices(name, guest, name, known)]
        except ProviderError:  # a network is gone
            return list(range(len(guest.networks)))
        return [index for index, netdev in enumerate(now)
                if index >= len(started) or started[index] != netdev]

    def network_config(self, name: str, guest: GuestSpec, what: str) -> bytes | None:
        """cloud-init network-config (version 2) for the guest's NICs: DHCP on user
        networks, the stack's ``ip:`` on private ones; None without NICs."""
        if not guest.networks:
            return None
        ethernets = {}
        for index, (nic, network) in enumerate(zip(guest.networks, self.specs(guest, what),
                                                   strict=True)):
            entry: dict[str, object] = {"match": {"macaddress": self.mac(name, index, nic)},
                                        "dhcp4": network.mode == "user"}
            if network.mode == "private" and nic.ip and network.cidr:
                prefix = ipaddress.ip_network(network.cidr).prefixlen
                entry["addresses"] = [f"{nic.ip}/{prefix}"]
            ethernets[f"nic{index}"] = entry
        document = {"version": 2, "ethernets": ethernets}
        return yaml.safe_dump(document, default_flow_style=False, sort_keys=False).encode()

