"""The libvirt connection: opened lazily, every call counted, errors translated here.

This is the only module that inspects ``libvirtError`` codes (as Nova's
driver does): "no such object" becomes ObjectNotFoundError, timeouts and
dropped connections become TransientProviderError and are retried with
backoff, the rest become ProviderError naming the object.
"""

from __future__ import annotations

import contextlib
import errno
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import libvirt

from provisioner.errors import (
    ConnectionLostError,
    ObjectNotFoundError,
    ProviderError,
    TransientProviderError,
)
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.retry import RetryPolicy, retrying

T = TypeVar("T")
R = TypeVar("R")

_NOT_FOUND = {
    libvirt.VIR_ERR_NO_DOMAIN,
    libvirt.VIR_ERR_NO_NETWORK,
    libvirt.VIR_ERR_NO_STORAGE_VOL,
    libvirt.VIR_ERR_NO_STORAGE_POOL,
    libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT,
}
_TRANSIENT = {
    libvirt.VIR_ERR_OPERATION_TIMEOUT,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
}
RETRY = RetryPolicy(start=0.2, factor=5.0, max=3.0, attempts=4)
"""A transient failure is asked again after 0.2, 1 and 3 seconds."""
NO_RETRY = RetryPolicy(start=0.0, max=0.0, attempts=1)
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


WRITERS = 10
"""Connections the changes of an apply spread over, besides the one plans read on:
one per change at the default ``max_parallel`` (10). libvirtd runs one client's calls
on one connection largely one after another (each create's volume, define and
start): on 4 connections 4 guests are made at once, and the bare calls take about
half the time of one connection (bench/floor.py). 10 guests converged in 1.68 s on
10 connections against 1.78 s on 4, and 1.58 s against 1.69 s (medians of 8 and 6
alternating runs, 2 cores)."""


@dataclass
class _Channel:
    """One open connection and its share of the daemon's per-client request limit."""

    conn: libvirt.virConnect
    in_flight: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(MAX_IN_FLIGHT))
    users: int = 0
    owned: bool = True
    """False for a connection the caller lent (``share``): never closed here."""
    lost: bool = False
    """The connection dropped: no call goes through it any more."""


class LibvirtClient:
    """Lazily opened connections with call accounting, safe across threads: the main
    one (plans, reads) and, for changes, up to WRITERS more (``dedicated``)."""

    def __init__(self, uri: str, stats: ProviderStats,
                 credentials: tuple[str, str] | None = None) -> None:
        self.uri = uri
        self.stats = stats
        self.credentials = credentials
        """(username, password) for SASL authentication (qemu+tcp:// and qemu+tls://)."""
        self._main: _Channel | None = None
        self._writers: list[_Channel] = []
        self._retired: list[_Channel] = []
        self._bound = threading.local()
        self._lock = threading.Lock()

    @property
    def conn(self) -> libvirt.virConnect:
        """The calling thread's connection: its dedicated one inside ``dedicated``,
        else the main one."""
        return self._channel().conn

    def _channel(self) -> _Channel:
        bound: _Channel | None = getattr(self._bound, "channel", None)
        if bound is not None:
            if not bound.lost:
                return bound
            self._bound.channel = bound = self._writer()  # the block goes on, reconnected
            return bound
        with self._lock:
            if self._main is None:
                self._main = _Channel(self._open())
            return self._main

    def share(self, conn: libvirt.virConnect) -> None:
        """Use ``conn``, opened and closed by the caller, as the main connection (tests
        that hold a test-driver connection: a second open would be another world)."""
        with self._lock:
            self._main = _Channel(conn, owned=False)

    @contextlib.contextmanager
    def dedicated(self) -> Iterator[None]:
        """Within this block, the thread's calls go through a writer connection: a new
        one while fewer than WRITERS are open, else the least busy. Every object the
        block looks up belongs to that connection. ``test:`` URIs keep one connection:
        each connection to a test driver file is a world of its own."""
        if self.uri.startswith("test:") or getattr(self._bound, "channel", None) is not None:
            yield
            return
        self._bound.channel = self._writer()
        try:
            yield
        finally:
            channel, self._bound.channel = self._bound.channel, None
            with self._lock:
                channel.users -= 1

    def _writer(self) -> _Channel:
        with self._lock:
            idle = [w for w in self._writers if w.users == 0]
            if idle or len(self._writers) >= WRITERS:
                channel = idle[0] if idle else min(self._writers, key=lambda w: w.users)
                channel.users += 1
                return channel
            channel = _Channel(self._open(), users=1)
            self._writers.append(channel)
            return channel

    def _open(self) -> libvirt.virConnect:
        try:
            with self.stats.track(CallKind.CONNECT):
                if self.credentials is None:
                    return libvirt.open(self.uri)
                return libvirt.openAuth(self.uri, self._auth(), 0)
        except libvirt.libvirtError as exc:
            raise ProviderError(
                f"cannot connect to libvirt at {self.uri}: {exc.get_error_message()}",
                hint=_connect_hint(self.uri)) from exc

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
        MAX_IN_FLIGHT run at once per connection; a whole upload (stream included) is
        one call."""
        def once() -> T:
            channel = self._channel()
            try:
                with channel.in_flight, self.stats.track(category):
                    return fn(*args)
            except libvirt.libvirtError as exc:
                if _connection_lost(exc, channel):
                    raise self._lost(channel, what, exc) from exc
                error = translate(exc, what)
                if category in (CallKind.READ, CallKind.LIST) and not exc.get_error_code():
                    # libvirt returned a failure but recorded no error (seen on the test
                    # driver under parallel applies: "virDomainLookupByName() failed"):
                    # a read is safe to ask again
                    error = TransientProviderError(f"{what}: {error.message}")
                raise error from exc

        # a lost connection is not retried here: ``fn`` may hold objects of the dead one
        return retrying(once, RETRY if retry else NO_RETRY, _retryable)

    def _lost(self, channel: _Channel, what: str, exc: libvirt.libvirtError) -> ConnectionLostError:
        """The error for a call whose connection dropped; if ``channel`` is dead and
        still in use, every connection is retired (the next calls open new ones). Not
        retried here: ``fn`` may hold objects of the dead connection."""
        alive = False
        with contextlib.suppress(libvirt.libvirtError):
            alive = bool(channel.conn.isAlive())  # alive: ``fn`` held an older one's object
        if not alive and not channel.lost:  # (lost: another call retired it already)
            self._retire_all()
        return ConnectionLostError(
            f"{what}: the connection to libvirt at {self.uri} was lost "
            f"({exc.get_error_message() or exc})",
            hint="if it was a change, run apply again: it reads what the change did and "
                 "finishes it, with no duplicate",
        )

    def _retire_all(self) -> None:
        """A connection died: the daemon most likely went away under all of them, and
        a dead one is found only by a call failing on it. So every open connection is
        retired (no new call goes through it; calls in flight finish or fail there) and
        the next calls open new ones. Retired connections are closed by ``close``."""
        with self._lock:
            channels = ([self._main] if self._main else []) + self._writers
            for channel in channels:
                channel.lost = True
            self._retired.extend(channels)
            self._main, self._writers = None, []

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
            channels = ([self._main] if self._main else []) + self._writers + self._retired
            self._main, self._writers, self._retired = None, [], []
        for channel in channels:
            if channel.owned:
                with contextlib.suppress(libvirt.libvirtError):
                    channel.conn.close()


def translate(exc: libvirt.libvirtError, what: str) -> ProviderError:
    """The project's error for a libvirt failure concerning ``what``."""
    code = exc.get_error_code()
    message = exc.get_error_message() or str(exc)
    if code in _NOT_FOUND:
        return ObjectNotFoundError(f"{what}: not found ({message})")
    if code in _TRANSIENT or _short_of_a_resource(exc):
        return TransientProviderError(f"{what}: {message}")
    if code == libvirt.VIR_ERR_NO_SUPPORT:
        return ProviderError(f"{what}: this libvirt driver cannot do that ({message})")
    return ProviderError(f"{what}: {message}")


def _short_of_a_resource(exc: libvirt.libvirtError) -> bool:
    """A system error of errno EAGAIN: the host lacked something for a moment (seen:
    a guest's start failing with "failed to load cgroup BPF prog: Resource temporarily
    unavailable" while 9 others started), and the daemon undid the call."""
    return bool(exc.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR
                and exc.get_int1() == errno.EAGAIN)


def _connect_hint(uri: str) -> str:
    """The next step when a connection to ``uri`` cannot be opened."""
    scheme = uri.split(":", 1)[0]
    if scheme.endswith("+ssh"):
        return ("over SSH, libvirt needs a login without a prompt: a key in ssh-agent or "
                "~/.ssh, and the host's key in ~/.ssh/known_hosts (run `ssh HOST true` "
                "once); and libvirtd running on that host")
    if scheme.endswith(("+tcp", "+tls")):
        return ("check that libvirtd listens there (virtproxyd or libvirtd --listen) and, "
                "for SASL, the provider's username and password")
    return ("check that libvirtd runs and the URI is right (scripts/testbed start starts a "
            "local one)")


def _connection_lost(exc: libvirt.libvirtError, channel: _Channel) -> bool:
    """True when the call failed because its connection dropped: the RPC layer's
    "Cannot write data: Broken pipe" / "client socket is closed", or a dead channel."""
    if exc.get_error_domain() == libvirt.VIR_FROM_RPC and exc.get_error_code() in (
            libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR):
        return True
    try:
        return not channel.conn.isAlive()
    except libvirt.libvirtError:
        return True


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, TransientProviderError) and not isinstance(exc, ConnectionLostError)


def error_code(exc: BaseException) -> int | None:
    """The libvirt error code behind a translated error, if any."""
    cause = exc.__cause__
    return cause.get_error_code() if isinstance(cause, libvirt.libvirtError) else None
