"""Bounded concurrency per node and per storage, and VMIDs no two creates share.

Proxmox serialises much of its work per node and per storage (a clone
holds the template's lock, lvmthin allocations contend on the volume group),
and answers too many at once with lock timeouts. The executor bounds the
changes per node and per storage from the lanes this provider declares
(``node_parallel``, ``storage_parallel``); these semaphores bound the tasks
themselves, which matters where a task runs on another node than its guest
(a clone runs on its template's node).
``/cluster/nextid`` reserves nothing, so parallel creates would be handed the
same VMID: the allocator hands out each id once per process, never one the
stack fixes, and a create that still finds its id taken (another client) asks
for the next one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator

from provisioner.errors import ProviderError


class Limits:
    """Semaphores per node and per storage, created on first use."""

    def __init__(self, per_node: int, per_storage: int) -> None:
        self.per_node = per_node
        self.per_storage = per_storage
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.Semaphore] = {}

    def _semaphore(self, key: str, size: int) -> threading.Semaphore:
        with self._lock:
            if key not in self._semaphores:
                self._semaphores[key] = threading.Semaphore(size)
            return self._semaphores[key]

    @contextlib.contextmanager
    def hold(self, node: str, storages: Iterable[str] = ()) -> Iterator[None]:
        """The node's slot, then each storage's, always in the same order (no deadlock)."""
        with contextlib.ExitStack() as stack:
            stack.enter_context(self._semaphore(f"node:{node}", self.per_node))
            for storage in sorted(set(storages)):
                stack.enter_context(self._semaphore(f"storage:{storage}", self.per_storage))
            yield


class VmidAllocator:
    """Hands out free VMIDs inside a range, each at most once per process."""

    def __init__(self, first: int, last: int) -> None:
        self.first = first
        self.last = last
        self._lock = threading.Lock()
        self._taken: set[int] = set()
        self._reserved: set[int] = set()
        self._fixed: set[int] = set()

    def observe(self, vmids: Iterable[int]) -> None:
        """Ids seen in use on the cluster (from a listing)."""
        with self._lock:
            self._taken.update(vmids)

    def keep_out(self, vmids: Iterable[int]) -> None:
        """Ids the stack fixes (``options.vmid``): handed to no other guest, even before
        the guest that fixes one is created."""
        with self._lock:
            self._fixed = set(vmids)

    def reserve(self) -> int:
        """The lowest id of the range neither seen in use, nor handed out, nor fixed."""
        with self._lock:
            for vmid in range(self.first, self.last + 1):
                if vmid not in self._taken and vmid not in self._reserved and \
                        vmid not in self._fixed:
                    self._reserved.add(vmid)
                    return vmid
        raise ProviderError(f"no free VMID left in {self.first}-{self.last}",
                            hint="widen vmid_range in the provider block")

    def taken(self, vmid: int) -> None:
        """Another client took ``vmid``: never hand it out again."""
        with self._lock:
            self._taken.add(vmid)

    def release(self, vmid: int) -> None:
        """A create that reserved ``vmid`` made nothing with it."""
        with self._lock:
            self._reserved.discard(vmid)
