"""The vSphere connection: one session per provider block, every call counted and translated.

The session is opened on the first call and reused by every thread for the
whole run; ``close`` logs out. Each call goes through ``call``, which counts
it in ``ProviderStats``, translates pyVmomi faults and transport errors once
(``faults.translate``), logs in again once when the session was lost
(``NotAuthenticated``: an idle timeout, a restarted vCenter) and retries
transient faults with backoff for up to ``retry_timeout`` seconds. Tasks are
started with ``run_task`` and waited for with ``task_timeout``; a task that
fails raises the translated fault, naming the object.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pyVmomi import vim, vmodl

from provisioner.errors import ProviderError, TransientProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.retry import RetryPolicy, retrying
from provisioner.providers.vsphere import VsphereConfig
from provisioner.providers.vsphere.faults import SessionLostError, TaskTimeoutError, translate
from provisioner.providers.vsphere.session import Session, login, logout

T = TypeVar("T")
CAUGHT: tuple[type[BaseException], ...] = (vmodl.MethodFault, OSError,
                                             http.client.HTTPException)
"""What pyVmomi raises: vSphere faults, socket and TLS errors, broken HTTP."""
RETRY = RetryPolicy(start=0.2, max=5.0, jitter=0.2)
"""Waits between attempts; the budget is the block's ``retry_timeout``."""
POLL_START = 0.02
TASK_PATHS = ("info.state", "info.result", "info.error", "info.descriptionId")
PC = vmodl.query.PropertyCollector
POLL_MAX = 1.0


class VsphereClient:
    """A lazily opened, thread-safe session with call accounting."""

    def __init__(self, settings: VsphereConfig, stats: ProviderStats) -> None:
        self.settings = settings
        self.stats = stats
        self._session: Session | None = None
        self._view: Any = None
        self._lock = threading.Lock()

    # -- the session ------------------------------------------------------------------

    @property
    def session(self) -> Session:
        with self._lock:
            if self._session is None:
                self._session = self._login()
            return self._session

    def _login(self) -> Session:
        settings = self.settings
        where = f"cannot log in to {settings.server}:{settings.port} as {settings.username}"
        try:
            with self.stats.track(CallKind.CONNECT):
                return login(settings, pool_size=settings.max_parallel + 4)
        except CAUGHT as exc:
            raise translate(exc, where) from exc

    def _login_again(self, lost: Session) -> None:
        """Log in again on the same connection, so references made for it stay valid.
        Another thread may have done it already."""
        with self._lock:
            if self._session is not lost:
                return
            self._view = None  # it belonged to the old session
            try:
                with self.stats.track(CallKind.CONNECT):
                    lost.content.sessionManager.Login(
                        self.settings.username, self.settings.password.get_secret_value())
            except CAUGHT as exc:
                self._session = None
                raise translate(exc, f"cannot log in again to {self.settings.server}") from exc

    @property
    def is_vcenter(self) -> bool:
        return self.session.is_vcenter

    def ref(self, kind: type[T], moid: str) -> T:
        """A reference to the managed object ``moid`` of type ``kind`` on this session."""
        factory: Any = kind
        return factory(moid, self.session.instance._stub)  # type: ignore[no-any-return]

    def view(self) -> Any:
        """The session's container view of every inventory object (made once, counted as
        part of connecting): the bulk read traverses it."""
        session = self.session
        with self._lock:
            if self._view is None:
                content = session.content
                try:
                    with self.stats.track(CallKind.CONNECT):
                        self._view = content.viewManager.CreateContainerView(
                            content.rootFolder, [vim.ManagedEntity], True)
                except CAUGHT as exc:
                    raise translate(exc, "creating the inventory view") from exc
            return self._view

    def close(self) -> None:
        """Log out. Never raises: the session ends on the server's idle timeout anyway."""
        with self._lock:
            session, self._session, self._view = self._session, None, None
        if session is not None:
            with contextlib.suppress(*CAUGHT):
                logout(session)

    # -- calls ------------------------------------------------------------------------

    def call(self, kind: CallKind, what: str, fn: Callable[[Session], T], *,
             retry: bool = True) -> T:
        """Run ``fn(session)``, one API call, counted under ``kind``. A lost session is
        logged in again once; transient faults are retried unless ``retry`` is false
        (a create whose answer was lost may have happened: its caller checks)."""
        relogged = False

        def once() -> T:
            nonlocal relogged
            session = self.session
            try:
                with self.stats.track(kind):
                    return fn(session)
            except CAUGHT as exc:
                error = translate(exc, what)
                if isinstance(error, SessionLostError) and not relogged:
                    relogged = True
                    self._login_again(session)
                    return once()  # at once: nothing was wrong but the session
                raise error from exc

        return retrying(once, self._policy(), lambda exc: _transient(exc, retry))

    def run_task(self, what: str, start: Callable[[Session], Any], *,
                 retry: bool = True) -> Any:
        """Start a task and wait for it; returns its result. When ``retry``, a start
        that fails transiently, or a task that does (TaskInProgress: another task held
        the VM), is started again: only for idempotent changes (a reconfigure to a
        spec, a power change, a destroy), never for a create. Raises the translated
        fault of a failed task, or TaskTimeoutError when it still runs after
        ``task_timeout`` (it is then cancelled, best effort)."""
        def once() -> Any:
            task = self.call(CallKind.WRITE, what, start, retry=False)
            return self._wait(task, what)

        return retrying(once, self._policy(), lambda exc: _transient(exc, retry))

    def _policy(self) -> RetryPolicy:
        return RETRY.within(self.settings.retry_timeout)

    def _wait(self, task: Any, what: str) -> Any:
        deadline = time.monotonic() + self.settings.task_timeout
        delay = POLL_START
        while True:
            info = self.call(CallKind.READ, what, lambda s: task_info(s, task))
            state = str(info.get("info.state"))
            if state == "success":
                return info.get("info.result")
            if state == "error":
                fault = info["info.error"]
                raise translate(fault, what) from fault
            if time.monotonic() > deadline:
                self._cancel(task, what)
                raise TaskTimeoutError(
                    f"{what}: task {info.get('info.descriptionId') or '?'} still runs after "
                    f"{self.settings.task_timeout:g}s ({task._moId})",
                    hint="see the task in the vSphere client; raise task_timeout if it is "
                         "only slow")
            time.sleep(delay)
            delay = min(delay * 2, POLL_MAX)

    def _cancel(self, task: Any, what: str) -> None:
        # not cancellable, or already over: the timeout error says enough
        with contextlib.suppress(ProviderError):
            self.call(CallKind.WRITE, what, lambda _s: task.CancelTask(), retry=False)


def _transient(error: Exception, retry: bool) -> bool:
    return retry and isinstance(error, TransientProviderError)


def task_info(session: Session, task: Any) -> dict[str, Any]:
    """The task's state, result, error and name: those fields only, in one retrieval.
    Reading ``task.info`` whole would also read its ``entity``, which the simulator
    sets to what the task was called on (a snapshot, the FileManager; vCenter: the
    VM) and pyVmomi refuses as not a managed entity."""
    spec = PC.FilterSpec(objectSet=[PC.ObjectSpec(obj=task, skip=False)],
                         propSet=[PC.PropertySpec(type=vim.Task, pathSet=list(TASK_PATHS))])
    found = session.content.propertyCollector.RetrieveContents([spec])
    return {prop.name: prop.val for item in found or () for prop in item.propSet}
