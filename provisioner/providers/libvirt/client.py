"""The libvirt connection: opened lazily, every call counted, errors translated here.

This is the only module that inspects ``libvirtError`` codes (as Nova's
driver does): "no such object" becomes ObjectNotFoundError, timeouts and
dropped connections become TransientProviderError and are retried with
backoff, the rest become ProviderError naming the object.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import libvirt

from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.base import CallKind, ProviderStats

T = TypeVar("T")
R = TypeVar("R")

_NOT_FOUND = {
    libvirt.VIR_ERR_NO_DOMAIN,
    libvirt.VIR_ERR_NO_NETWORK,
    libvirt.VIR_ERR_NO_STORAGE_VOL,
    libvirt.VIR_ERR_NO_STORAGE_POOL,
}
_TRANSIENT = {
    libvirt.VIR_ERR_OPERATION_TIMEOUT,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
}
RETRY_DELAYS = (0.2, 0.5, 1.0)
IN_FLIGHT = 4
"""Per-object reads sent at once by ``each``: libvirt carries concurrent calls on one
connection, and libvirtd serves up to 5 of a client's at a time by default
(``max_client_requests``), so round trips overlap each other and the parsing of
earlier answers (about half a 10,000-guest read, measured on the test driver)."""
BATCH = 32

MAX_IN_FLIGHT = 4
"""Calls on one connection at once, from every thread. libvirtd serves at most 5 of
a client's requests at a time (``max_client_requests``, default 5) and stops reading
that client's socket while it has 5: with a volume upload in flight, whose data
arrives on that socket, the upload and every call behind it then waited forever
(seen in the e2e suite: "Client hit max requests limit 5" in libvirtd's log, then a
lookup that never returned). Below the limit the daemon always reads on."""

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # no stderr noise; we report


class LibvirtClient:
    """A thread-safe, lazily opened connection with call accounting."""

    def __init__(self, uri: str, stats: ProviderStats,
                 credentials: tuple[str, str] | None = None) -> None:
        self.uri = uri
        self.stats = stats
        self.credentials = credentials
        """(username, password) for SASL authentication (qemu+tcp:// and qemu+tls://)."""
        self._conn: libvirt.virConnect | None = None
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)

    @property
    def conn(self) -> libvirt.virConnect:
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            return self._conn

    def _open(self) -> libvirt.virConnect:
        try:
            with self.stats.track(CallKind.CONNECT):
                if self.credentials is None:
                    return libvirt.open(self.uri)
                return libvirt.openAuth(self.uri, self._auth(), 0)
        except libvirt.libvirtError as exc:
            raise ProviderError(
                f"cannot connect to libvirt at {self.uri}: {exc.get_error_message()}",
                hint="check that libvirtd runs and the URI is right (scripts/testbed start "
                     "starts a local one)",
            ) from exc

    def _auth(self) -> list[object]:
        """libvirt's credential callback: answers only the username and password."""
        username, password = self.credentials or ("", "")

        def answer(credentials: list[list[object]], _data: object) -> int:
            for credential in credentials:
                if credential[0] == libvirt.VIR_CRED_AUTHNAME:
                    credential[4] = username
                elif credential[0] == libvirt.VIR_CRED_PASSPHRASE:
                    credential[4] = password
                else:
                    return -1
            return 0

        return [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], answer, None]

    def call(self, category: CallKind, what: str, fn: Callable[..., T], *args: object,
             retry: bool = True) -> T:
        """Run one libvirt call, counted under ``category``; retries transient failures
        unless ``retry`` is false (for probes whose caller polls anyway). At most
        MAX_IN_FLIGHT run at once; a whole upload (stream included) is one call."""
        for attempt, delay in enumerate((*RETRY_DELAYS, None) if retry else (None,)):
            try:
                with self._in_flight, self.stats.track(category):
                    return fn(*args)
            except libvirt.libvirtError as exc:
                error = translate(exc, what)
                if not isinstance(error, TransientProviderError) or delay is None:
                    raise error from exc
                time.sleep(delay * (attempt + 1))
        raise AssertionError("unreachable")

    def each(self, read: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """``read(item)`` for every item, in order, up to IN_FLIGHT of them at once on
        this connection (each thread reads a run of BATCH items: one task per item
        would cost more than some reads). ``read`` makes its calls through ``call``;
        what it raises is raised here, and the reads not started yet are dropped."""
        batches = [items[start:start + BATCH] for start in range(0, len(items), BATCH)]
        pool = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="libvirt-read")
        try:
            for results in pool.map(lambda batch: [read(item) for item in batch], batches):
                yield from results
        finally:
            pool.shutdown(cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    self._conn.close()
                self._conn = None


def translate(exc: libvirt.libvirtError, what: str) -> ProviderError:
    """The project's error for a libvirt failure concerning ``what``."""
    code = exc.get_error_code()
    message = exc.get_error_message() or str(exc)
    if code in _NOT_FOUND:
        return ObjectNotFoundError(f"{what}: not found ({message})")
    if code in _TRANSIENT:
        return TransientProviderError(f"{what}: {message}")
    if code == libvirt.VIR_ERR_NO_SUPPORT:
        return ProviderError(f"{what}: this libvirt driver cannot do that ({message})")
    return ProviderError(f"{what}: {message}")


def error_code(exc: BaseException) -> int | None:
    """The libvirt error code behind a translated error, if any."""
    cause = exc.__cause__
    return cause.get_error_code() if isinstance(cause, libvirt.libvirtError) else None
