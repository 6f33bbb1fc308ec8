"""The libvirt provider on libvirt's in-process test driver.

Each test starts from ``fixtures/libvirt-node.xml`` (one dir pool named
``default``, nothing else) through ``test:///ABS/PATH/node.xml``. Every
``libvirt.open()`` of such a URI gets a private copy of the state, so the
hypervisor opens one connection and hands it to every provider it builds
(this test's, another stack's): they all see the same objects.
"""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

import pytest

from contract.honesty import FieldEdit, Power, RawFields, Watch
from contract.targets import FIXTURES, ContractTarget, Hypervisor, KnownGap
from provisioner.core.address import Kind
from provisioner.errors import ProviderError
from provisioner.providers.base import Provider

if TYPE_CHECKING:
    import libvirt


_LAB = {"networks": {"lab": {"provider": "hv", "mode": "isolated", "cidr": "10.44.0.0/24"}}}
_DATA = {"volumes": {"data": {"provider": "hv", "size": "1GiB"},
                     "more": {"provider": "hv", "size": "1GiB"}}}
_ONE_DISK = [{"size": "1GiB"}]
LIBVIRT_EDITS = [
    FieldEdit("cpus", {"cpus": 1}, {"cpus": 2}),
    FieldEdit("cpus", {"cpus": 1, "options": {"max_cpus": 4}},
              {"cpus": 2, "options": {"max_cpus": 4}}, stopped=True),
    FieldEdit("memory", {"memory": "256MiB"}, {"memory": "512MiB"}),
    FieldEdit("power", {}, {"power": "stopped"}),
    FieldEdit("autostart", {}, {"autostart": True}),
    FieldEdit("disks", {}, {"disks": [*_ONE_DISK, {"size": "1GiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}),
    FieldEdit("disks[1].volume", {"disks": [*_ONE_DISK, {"volume": "data"}]},
              {"disks": [*_ONE_DISK, {"volume": "more"}]}, sections=_DATA),
    FieldEdit("disks[0].bus", {}, {"disks": [{"size": "1GiB", "bus": "sata"}]}),
    FieldEdit("disks[0].slot", {}, {"disks": [{"size": "1GiB", "slot": "vdc"}]}),
    FieldEdit("networks", {}, {"networks": [{"network": "lab"}]}, sections=_LAB),
    FieldEdit("options.graphics", {}, {"options": {"graphics": "vnc"}}),
    FieldEdit("dhcp_range", {}, {"dhcp_range": {"start": "10.45.0.100", "end": "10.45.0.150"}},
              Kind.NETWORK),
    FieldEdit("size", {}, {"size": "2GiB"}, Kind.VOLUME),
    # kept in the ownership tag (plan/protection.py): rewritten in place, no restart
    FieldEdit("lifecycle.prevent_destroy", {"lifecycle": {"prevent_destroy": True}}, {}),
]
LIBVIRT_NO_OPTIONS = {
    f"{kind.value}.options": "the libvirt provider declares no options for this kind"
    for kind in (Kind.NETWORK, Kind.VOLUME, Kind.POOL)}
# Raw keys: "config."/"live." + an element path of the inactive/live domain XML.
LIBVIRT_RAW_FIELDS = RawFields((
    (r"(config|live)\.vcpu", "cpus"),
    (r"(config|live)\.(memory|currentMemory)", "memory"),
    (r"(config|live)\.devices/disk\[\d+\]", ("disks", "cloud_init")),
    # controllers libvirt adds for the devices on them
    (r"(config|live)\.devices/controller\[\d+\]", ("disks", "networks", "options.graphics")),
    (r"(config|live)\.devices/interface\[\d+\]", "networks"),
    (r"(config|live)\.devices/(graphics|video|input)\[\d+\]", "options.graphics"),
    (r"(config|live)\.(os|cpu)", "options"),
    (r"autostart", "autostart"), (r"state", "power"),
    # networks (their XML by element) and volumes
    (r"network\.ip\[\d+\]", ("dhcp_range", "cidr", "dhcp")), (r"network\.forward\[0\]", "mode"),
    (r"network\.domain\[0\]", "domain"), (r"volume\.capacity", "size"),
    (r"volume\.target/format", "format"),
    (r"network\..*|volume\..*", None),
    # the ownership marker, and what libvirt rewrites on every start
    (r"(config|live)\.(metadata|seclabel|resource)", None),
    (r"(config|live)\.devices/(serial|console|channel)\[\d+\]", None),
), transient=r"live\..*")
_POWER_CALLS = {"create": Power.START, "createWithFlags": Power.START,
                "resume": Power.START, "shutdown": Power.STOP, "shutdownFlags": Power.STOP,
                "destroy": Power.STOP, "destroyFlags": Power.STOP, "reboot": Power.REBOOT,
                "reset": Power.REBOOT, "suspend": Power.SUSPEND,
                "managedSave": Power.SUSPEND}


class LibvirtTarget(ContractTarget):
    name = "libvirt"
    removable_option = ("graphics", "vnc", "none")
    kinds = frozenset(Kind) - {Kind.CONTAINER, Kind.IMAGE}  # images: integration tests
    foreign_kinds = frozenset({Kind.GUEST, Kind.NETWORK})
    default_pool = "default"
    honesty_kinds = frozenset({Kind.GUEST, Kind.NETWORK, Kind.VOLUME, Kind.POOL})
    honesty_untestable = LIBVIRT_NO_OPTIONS
    field_edits = LIBVIRT_EDITS
    raw_fields = LIBVIRT_RAW_FIELDS
    honesty_gaps = {
        "guests.disks[0].size": "the test driver has no virStorageVolResize nor blockResize "
                                "(libvirtd has: the e2e run covers it)",
        "volumes.size": "the test driver has no virStorageVolResize (the e2e run covers it)",
    }
    known_gaps = {
        "test_volume_grows_in_place": KnownGap(
            "the test driver has no virStorageVolResize (libvirtd has; integration tests)",
            ProviderError),
        "test_network_updates_in_place": KnownGap(
            "the test driver keeps an active network's old definition across destroy and "
            "create, where libvirtd applies the new one (integration tests)", AssertionError),
    }

    def missing(self) -> str | None:
        if importlib.util.find_spec("libvirt") is None:
            return "libvirt-python is not installed: pip install 'provisioner[libvirt]'"
        return None

    def open(self, request: pytest.FixtureRequest, workdir: Path) -> Hypervisor:
        return LibvirtHypervisor(self, workdir)

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        if kind is Kind.NETWORK:
            return {"provider": "hv", "mode": "isolated", "cidr": "10.45.0.0/24"}
        if kind is Kind.VOLUME:
            return {"provider": "hv", "size": "1GiB"}
        return super().honest_base(kind)

    def unreachable_block(self) -> dict[str, Any]:
        return {"type": "libvirt", "uri": "qemu+ssh://nonexistent.invalid/system"}


class LibvirtHypervisor(Hypervisor):
    """A private test:/// state and its one connection."""

    def __init__(self, target: ContractTarget, workdir: Path) -> None:
        import libvirt

        super().__init__(target, workdir)
        pool = workdir / "hypervisor" / "pool-default"
        pool.mkdir(parents=True)
        node = workdir / "hypervisor" / "node.xml"
        template = Template((FIXTURES / "libvirt-node.xml").read_text(encoding="utf-8"))
        node.write_text(template.substitute(pool_path=pool), encoding="utf-8")
        self.uri = f"test://{node.resolve()}"
        self.conn: libvirt.virConnect = libvirt.open(self.uri)

    def provider_block(self) -> dict[str, Any]:
        return {"type": "libvirt", "uri": self.uri, "pool": "default"}

    def attach(self, provider: Provider) -> None:
        # A second open() of the URI would see a fresh copy of node.xml, not this test's state.
        provider.client.share(self.conn)  # type: ignore[attr-defined]

    def define_untagged(self, kind: Kind, name: str) -> None:
        if kind is Kind.GUEST:
            self.conn.defineXML(
                f"<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory>"
                "<os><type arch='x86_64'>hvm</type></os></domain>")
        elif kind is Kind.NETWORK:
            self.conn.networkDefineXML(f"<network><name>{name}</name></network>")
        elif kind is Kind.POOL:
            self.conn.storagePoolDefineXML(f"<pool type='dir'><name>{name}</name><target>"
                                           f"<path>/srv/{name}</path></target></pool>", 0)
        else:
            pool = self.conn.storagePoolLookupByName(self.target.default_pool)
            pool.createXML(f"<volume><name>{name}</name><capacity unit='MiB'>1</capacity>"
                           "</volume>", 0)

    def volume_names(self) -> set[str]:
        return {f"{pool.name()}/{volume.name()}"
                for pool in self.conn.listAllStoragePools()
                for volume in pool.listAllVolumes()}

    def definitions(self) -> str:
        import libvirt

        secure = libvirt.VIR_DOMAIN_XML_SECURE
        inactive = secure | libvirt.VIR_DOMAIN_XML_INACTIVE
        texts = []
        for domain in self.conn.listAllDomains():
            texts += [domain.XMLDesc(secure), domain.XMLDesc(inactive)]
        texts += [network.XMLDesc(0) for network in self.conn.listAllNetworks()]
        for pool in self.conn.listAllStoragePools():
            texts.append(pool.XMLDesc(0))
            texts += [volume.XMLDesc(0) for volume in pool.listAllVolumes()]
        return "\n".join(texts)

    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        return libvirt_raw_state(self.conn, kind, name)

    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        with watch_domain(name) as watch:
            yield watch

    def close(self) -> None:
        self.conn.close()  # the providers only borrowed it


def libvirt_raw_state(conn: libvirt.virConnect, kind: Kind, name: str) -> dict[str, str]:
    """A guest's, network's or volume's definition as libvirt stores it, by element."""
    if kind is Kind.NETWORK:
        network = conn.networkLookupByName(name)
        raw = _elements("network", ET.fromstring(network.XMLDesc(0)))
        return raw | {"network.active": str(bool(network.isActive()))}
    if kind is Kind.VOLUME:
        (volume,) = [v for p in conn.listAllStoragePools() if p.isActive()
                     for v in p.listAllVolumes() if v.name().split("__", 1)[-1]
                     in (f"{name}.qcow2", f"{name}.img")]
        root = ET.fromstring(volume.XMLDesc(0))
        return {f"volume.{path}": _canonical(element) for path in ("capacity", "target/format")
                if (element := root.find(path)) is not None}
    return domain_raw_state(conn, name)


def _elements(prefix: str, root: ET.Element) -> dict[str, str]:
    """``PREFIX.TAG[N]`` → each child element of ``root``, canonical."""
    counts: dict[str, int] = {}
    raw = {}
    for child in root:
        index = counts.get(child.tag, 0)
        counts[child.tag] = index + 1
        if child.tag not in ("name", "uuid"):
            raw[f"{prefix}.{child.tag}[{index}]"] = _canonical(child)
    return raw


def domain_raw_state(conn: libvirt.virConnect, name: str) -> dict[str, str]:
    """A domain's inactive and live XML by element (``config.vcpu``,
    ``live.devices/disk[1]``), its state and its autostart flag."""
    import libvirt

    domain = conn.lookupByName(name)
    raw = {"state": "running" if domain.isActive() else "stopped",
           "autostart": str(bool(domain.autostart()))}
    flags = {"config": libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE}
    if domain.isActive():
        flags["live"] = libvirt.VIR_DOMAIN_XML_SECURE
    for prefix, flag in flags.items():
        root = ET.fromstring(domain.XMLDesc(flag))
        for child in root:
            if child.tag == "devices":
                counts: dict[str, int] = {}
                for device in child:
                    index = counts.get(device.tag, 0)
                    counts[device.tag] = index + 1
                    raw[f"{prefix}.devices/{device.tag}[{index}]"] = _canonical(device)
            elif child.tag not in ("name", "uuid", "id"):
                raw[f"{prefix}.{child.tag}"] = _canonical(child)
    return raw


def _canonical(element: ET.Element) -> str:
    return ET.canonicalize(ET.tostring(element, encoding="unicode"), strip_text=True)


@contextmanager
def watch_domain(name: str) -> Iterator[Watch]:
    """The power calls made on the domain through libvirt-python, by any connection of
    this process (the methods of ``virDomain`` wrapped while the block runs)."""
    import libvirt

    watch = Watch()
    originals = {method: getattr(libvirt.virDomain, method) for method in _POWER_CALLS
                 if hasattr(libvirt.virDomain, method)}

    def wrapped(method: str) -> Any:
        real = originals[method]

        def call(domain: libvirt.virDomain, *args: Any, **kwargs: Any) -> Any:
            if domain.name() == name:
                watch.power.append(_POWER_CALLS[method])
            return real(domain, *args, **kwargs)
        return call

    for method in originals:
        setattr(libvirt.virDomain, method, wrapped(method))
    try:
        yield watch
    finally:
        for method, real in originals.items():
            setattr(libvirt.virDomain, method, real)
