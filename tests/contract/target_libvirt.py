"""The libvirt provider on libvirt's in-process test driver.

Each test starts from ``fixtures/libvirt-node.xml`` (one dir pool named
``default``, nothing else) through ``test:///ABS/PATH/node.xml``. Every
``libvirt.open()`` of such a URI gets a private copy of the state, so the
hypervisor opens one connection and hands it to every provider it builds
(this test's, another stack's): they all see the same objects.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

import pytest

from contract.targets import FIXTURES, ContractTarget, Hypervisor, KnownGap
from provisioner.errors import ProviderError
from provisioner.providers.base import Provider
from provisioner.stack.address import Kind

if TYPE_CHECKING:
    import libvirt


class LibvirtTarget(ContractTarget):
    name = "libvirt"
    removable_option = ("graphics", "vnc", "none")
    kinds = frozenset(Kind) - {Kind.CONTAINER}
    foreign_kinds = frozenset({Kind.GUEST, Kind.NETWORK})
    default_pool = "default"
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

    def close(self) -> None:
        self.conn.close()  # the providers only borrowed it
