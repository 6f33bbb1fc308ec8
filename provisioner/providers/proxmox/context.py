"""The parts one provider block's guest, container and storage code share.

Built once per provider block (``Context.build``), in the order they depend on
each other; each part is one concept with its own module:

- ``client``: the API connection (retries, errors translated);
- ``owner``: the block's ownership (tags, description marker, storage ids);
- ``cluster``: the last listing and the reads that refresh it;
- ``names``: what a ``pool:`` names (storage ids ↔ the stack's pools);
- ``nodes``: which node a new guest goes to;
- ``tasks``, ``power``, ``limits``, ``vmids``: waiting for tasks, power and locks,
  bounded concurrency per node and storage, VMIDs no two creates share.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.providers.proxmox import ProxmoxConfig
from provisioner.providers.proxmox.client import ProxmoxClient
from provisioner.providers.proxmox.cluster import Cluster
from provisioner.providers.proxmox.limits import Limits, VmidAllocator
from provisioner.providers.proxmox.nodes import Nodes
from provisioner.providers.proxmox.ownership import Ownership
from provisioner.providers.proxmox.power import Power
from provisioner.providers.proxmox.references import StorageNames
from provisioner.providers.proxmox.tasks import Tasks


@dataclass(frozen=True)
class Context:
    """What one provider block's modules share; no logic of its own."""

    settings: ProxmoxConfig
    client: ProxmoxClient
    owner: Ownership
    cluster: Cluster
    names: StorageNames
    nodes: Nodes
    tasks: Tasks
    power: Power
    limits: Limits
    vmids: VmidAllocator

    @classmethod
    def build(cls, settings: ProxmoxConfig, client: ProxmoxClient,
              owner: Ownership) -> Context:
        vmids = VmidAllocator(*settings.vmids)
        cluster = Cluster(client, vmids)
        tasks = Tasks(client, settings.task_timeout)
        limits = Limits(settings.node_parallel, settings.storage_parallel)
        return cls(settings=settings, client=client, owner=owner, cluster=cluster,
                   names=StorageNames(settings.storage, owner, cluster),
                   nodes=Nodes(settings), tasks=tasks,
                   power=Power(client, tasks, limits, settings.shutdown_timeout),
                   limits=limits, vmids=vmids)
