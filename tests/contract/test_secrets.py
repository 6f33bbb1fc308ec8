"""Secrets: cloud-init user data reaches the guest only, never definitions or plans."""

from __future__ import annotations

import json
import uuid

from contract.targets import ContractTarget, Hypervisor
from provisioner.core.resources import Blob, to_plain
from provisioner.providers.base import Provider


def test_user_data_stays_out_of_definitions_and_live_objects(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    user_data = f"#cloud-config\npassword: {canary}\nchpasswd: {{expire: false}}\n"
    (guest,) = hypervisor.load({"guests": {"seeded": target.small_guest(
        cloud_init={"user_data": user_data})}})
    blob = guest.spec["cloud_init"]["user_data"]
    assert isinstance(blob, Blob)
    assert canary.encode() in blob.content

    created = provider.create(guest)
    listed = list(provider.list_managed().managed)

    assert canary not in hypervisor.definitions()
    for live in [created, *listed]:
        assert canary not in repr(live)
        assert canary not in json.dumps(to_plain(live.spec), default=str)
        assert canary not in json.dumps(to_plain(live.attributes), default=str)
    assert [live.spec["cloud_init"]["user_data"] for live in listed] == [blob]
