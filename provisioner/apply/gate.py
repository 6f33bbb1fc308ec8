"""The gate of a create begun ahead of the steps it waits on (``Provider.create_ahead``).

The executor starts such a create while those steps run; the provider does what
needs none of their objects (a guest's disks), then calls ``wait``, which returns
once every one of them is done and raises UpstreamFailedError as soon as one has
failed. The executor opens or fails the gate from its own thread as steps settle.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from provisioner.errors import UpstreamFailedError


class Gate:
    """Open once each step in ``pending`` is done; failed at the first that fails."""

    def __init__(self, pending: Iterable[str]) -> None:
        self.pending = set(pending)
        self.failed_on = ""
        """The first step waited on that failed, or ""."""
        self._settled = threading.Event()
        if not self.pending:
            self._settled.set()

    def done(self, key: str) -> None:
        self.pending.discard(key)
        if not self.pending:
            self._settled.set()

    def fail(self, key: str) -> None:
        if not self.failed_on:
            self.failed_on = key
        self._settled.set()

    def wait(self) -> None:
        """Return when every step waited on is done; raise if one failed."""
        self._settled.wait()
        if self.failed_on:
            raise UpstreamFailedError(f"upstream {self.failed_on} failed")
