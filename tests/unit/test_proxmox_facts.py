"""Facts.templates: QEMU templates by name, from one listing of the cluster."""

from __future__ import annotations

import pytest

from provisioner.providers.proxmox.facts import Facts

pytestmark = pytest.mark.unit


def _listing() -> list[dict[str, object]]:
    return [
        {"type": "qemu", "vmid": 9000, "node": "pve1", "name": "debian-12", "template": 1},
        {"type": "qemu", "vmid": 9001, "node": "pve2", "name": "debian-12", "template": 1},
        {"type": "qemu", "vmid": 9002, "node": "pve1", "name": "alma-9", "template": 1},
        {"type": "qemu", "vmid": 100, "node": "pve1", "name": "debian-12", "template": 0},
        {"type": "lxc", "vmid": 101, "node": "pve1", "name": "debian-12", "template": 1},
    ]


def test_templates_are_the_qemu_templates_of_that_name_on_every_node() -> None:
    facts = Facts.read(_listing(), [])
    assert [(t.vmid, t.node) for t in facts.templates("debian-12")] == [(9000, "pve1"),
                                                                         (9001, "pve2")]
    assert [t.vmid for t in facts.templates("alma-9")] == [9002]
    assert facts.templates("ubuntu-24.04") == []


def test_a_caller_changing_the_answer_does_not_change_the_next() -> None:
    facts = Facts.read(_listing(), [])
    facts.templates("debian-12").clear()
    assert len(facts.templates("debian-12")) == 2


def test_facts_of_the_same_listing_are_equal_whether_asked_or_not() -> None:
    asked = Facts.read(_listing(), [])
    asked.templates("debian-12")
    assert asked == Facts.read(_listing(), [])
