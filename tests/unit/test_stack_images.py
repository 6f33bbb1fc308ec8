"""Images in the stack: one instance per provider block that needs it, guests depending
on theirs, and every mistake at its line."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path

import pytest

from provisioner.core import plugins
from provisioner.core.address import Address, Kind, image_object_name
from provisioner.errors import StackError
from provisioner.providers.base import Owner, Requirements
from provisioner.stack.loader import Stack, load_stack

HEAD = """\
apiVersion: provisioner/v1
stack: lab
providers:
  kvm: {type: libvirt, uri: "test:///default"}
  local: {type: qemu, dir: /tmp/q}
  pve: {type: proxmox, endpoint: "https://pve.invalid:8006", token_id: "a@pve!b",
        token_secret: "${env.T}"}
"""
SUM = "sha256:" + "ab" * 32


def load(tmp_path: Path, body: str) -> Stack:
    path = tmp_path / "stack.yaml"
    path.write_text(HEAD + body)
    return load_stack(path, None, {"T": "x"}, cwd=tmp_path)


def problems(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(StackError) as caught:
        load(tmp_path, body)
    return [f"{p.position.line if p.position else '?'}: {p.path}: {p.message}"
            for p in caught.value.problems]


def hints(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(StackError) as caught:
        load(tmp_path, body)
    return [p.hint for p in caught.value.problems]


def test_an_image_is_imported_where_its_guests_are_and_they_wait_for_it(
        tmp_path: Path) -> None:
    stack = load(tmp_path, f"""\
images:
  deb: {{ url: https://example.invalid/deb.qcow2, checksum: "{SUM}" }}
guests:
  web: {{ provider: kvm, count: 2, image: deb }}
  tool: {{ provider: local, disks: [ {{ size: 1GiB }}, {{ image: deb }} ] }}
""")
    images = [r for r in stack.resources if r.kind is Kind.IMAGE]
    assert [(str(r.address), r.provider) for r in images] == [
        ("images.deb@kvm", "kvm"), ("images.deb@local", "local")]
    assert images[0].spec == {"checksum": SUM, "format": None, "pool": None, "options": {}}
    assert images[0].settings["url"] == "https://example.invalid/deb.qcow2"
    web = stack.resource(Address(Kind.GUEST, "web-1"))
    tool = stack.resource(Address(Kind.GUEST, "tool"))
    assert web is not None and tool is not None
    assert web.deps == (Address(Kind.IMAGE, "deb@kvm"),)
    assert web.references == {"image": Address(Kind.IMAGE, "deb@kvm")}
    assert tool.references == {"disks[1].image": Address(Kind.IMAGE, "deb@local")}
    assert stack.groups[Address(Kind.IMAGE, "deb")] == [a.address for a in images]


def test_an_image_address_names_its_block_and_parses_back() -> None:
    address = Address.parse("images.debian-12@kvm")
    assert (address.kind, address.name) == (Kind.IMAGE, "debian-12@kvm")
    assert image_object_name(address.name) == "debian-12"
    assert image_object_name("debian-12@kvm.r1") == "debian-12.r1"
    with pytest.raises(ValueError):
        Address.parse("guests.web@kvm")


def test_a_guest_naming_an_undeclared_image_uses_the_hosts_own(tmp_path: Path) -> None:
    stack = load(tmp_path, "guests:\n  web: { provider: kvm, image: debian-12 }\n")
    web = stack.resource(Address(Kind.GUEST, "web"))
    assert web is not None and web.deps == () and web.references == {}


def test_image_mistakes_are_named_at_their_lines(tmp_path: Path) -> None:
    found = problems(tmp_path, f"""\
images:
  nosum: {{ url: https://example.invalid/a.qcow2 }}
  unused: {{ url: ./a.qcow2 }}
  both: {{ url: ./a.qcow2, checksum: "{SUM}", checksum_url: ./SUMS, providers: [kvm] }}
  elsewhere: {{ url: ./a.qcow2, providers: [local] }}
  badsum: {{ url: ./a.qcow2, checksum: "md5:00", providers: [kvm] }}
  typo: {{ url: ./a.qcow2, providers: [kmv] }}
guests:
  web: {{ provider: kvm, image: elsewhere }}
""")
    assert found == [
        "9: images.nosum: an image from http(s) needs `checksum:` (sha256:HEX "
        "or sha512:HEX) or `checksum_url:`, so what is imported is what was meant",
        "10: images.unused: no guest uses this image and it names no provider",
        "11: images.both: give `checksum:` or `checksum_url:`, not both",
        "13: images.badsum.checksum: not a valid value (got 'md5:00')",
        "14: images.typo.providers[0]: unknown provider 'kmv'",
        "16: guests.web.image: image 'elsewhere' is not imported into provider 'kvm' "
        "(it is imported into: local)",
    ]


def test_a_provider_that_imports_no_images_is_told_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every provider here imports images: one is made not to (a plugin of another
    project may not)."""
    proxmox = plugins.get_plugin("proxmox")
    without = dataclasses.replace(
        proxmox, kinds=proxmox.kinds - {Kind.IMAGE},
        options_models={k: m for k, m in proxmox.options_models.items() if k is not Kind.IMAGE})
    real = plugins.get_plugin
    monkeypatch.setattr("provisioner.stack.provider_blocks.get_plugin",
                        lambda name: without if name == "proxmox" else real(name))
    found = problems(tmp_path, "images:\n  deb: { url: ./a.qcow2, providers: [pve] }\n")
    assert found == ["9: images.deb.providers[0]: provider 'pve' does not serve images"]


def test_a_malformed_checksum_says_how_to_write_one(tmp_path: Path) -> None:
    assert hints(tmp_path, "images:\n  deb: { url: ./a, checksum: x, providers: [kvm] }\n") == [
        "write sha256:HEX or sha512:HEX (the digest in hexadecimal)"]


def test_an_image_reserves_its_size_in_its_pool(tmp_path: Path) -> None:
    stack = load(tmp_path, f"""\
images:
  deb: {{ url: ./deb.qcow2, checksum: "{SUM}", providers: [kvm, local], pool: images }}
""")
    image = next(r for r in stack.resources if r.provider == "kvm")
    sized = replace(image, settings={**image.settings, "size": 5 << 30})
    block = stack.providers["kvm"]
    provider = block.plugin.provider_class()("kvm", block.config, Owner("lab"))
    assert provider.requirements(sized) == Requirements(storage={"images": 5 << 30})
    assert provider.requirements(image) == Requirements()  # size not read: nothing counted


def test_options_of_an_image_on_several_blocks_are_checked_by_each(tmp_path: Path) -> None:
    found = problems(tmp_path, f"""\
images:
  deb: {{ url: ./a.qcow2, checksum: "{SUM}", providers: [kvm, pve],
         options: {{ download: true }} }}
""")
    assert found == ["10: images.deb.options.download: unknown key 'download'"]
