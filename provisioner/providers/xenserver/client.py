"""The XAPI connection: the one seam between the provider and XenServer / XCP-ng.

Every call goes through ``XapiClient.call`` (``"VM.get_all_records"``,
``"VM.set_name_label", ref, name``): it is counted in ``ProviderStats``
(``get_all*`` as LIST, other ``get_*`` and ``event.from`` as READ, logins as
CONNECT, the rest as WRITE), XAPI's refusals and transport errors are translated
once (``faults``), and refusals that change nothing (another operation in
progress) are retried with backoff for up to ``retry_timeout`` seconds.

Sessions: XAPI sessions are cheap and the ``XenAPI`` package's ``Session`` keeps
one HTTP connection, so each thread logs in once and keeps its session for the
run (``close`` logs every one out); the package logs in again by itself when
XAPI says a session is no longer valid. A login to a pool member that is not
the master is refused with ``HOST_IS_SLAVE [master address]``: the client
follows it, for every later session too.

Long operations run as XAPI tasks (``task``): ``Async.VM.clone`` returns a task
at once; the client waits for it with ``event.from`` (XAPI's blocking event
feed, not a polling loop), cancels it after ``task_timeout`` or on Ctrl-C, and
returns its result decoded.

Integers travel as strings on XAPI's wire (XML-RPC integers are 32-bit): pass
``xint(n)`` for int parameters and read int fields with ``int(...)``.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import ssl
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import XenAPI

from provisioner.errors import ProviderError, TransientProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.retry import RetryPolicy, retrying
from provisioner.providers.xenserver import XenServerConfig
from provisioner.providers.xenserver.faults import failure_error, transport_error

log = logging.getLogger(__name__)
RETRY = RetryPolicy(start=0.2, max=5.0, jitter=0.2)
"""Waits between attempts; the budget is the block's ``retry_timeout``."""
EVENT_WAIT = 30.0
"""Seconds one ``event.from`` may block (the HTTP timeout is longer)."""
NULL_REF = "OpaqueRef:NULL"
MAX_REDIRECTS = 3
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException,
                                                     xmlrpc.client.ProtocolError)


def xint(value: int) -> str:
    """An integer as XAPI's wire carries it."""
    return str(int(value))


class _Transport(xmlrpc.client.SafeTransport):
    """HTTPS with the block's TLS settings and a socket timeout."""

    def __init__(self, context: ssl.SSLContext | None, timeout: float) -> None:
        super().__init__(context=context)
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPSConnection:
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


class _PlainTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


def call_kind(method: str) -> CallKind:
    """How a call is counted: bulk reads, one-object reads, writes."""
    verb = method.rsplit(".", 1)[-1]
    if verb in ("get_all_records", "get_all"):
        return CallKind.LIST
    if verb.startswith("get_") or method == "event.from":
        return CallKind.READ
    return CallKind.WRITE


class XapiClient:
    """Thread-safe access to one pool: a session per thread, calls counted and translated."""

    def __init__(self, settings: XenServerConfig, stats: ProviderStats,
                 directory: Path | None = None) -> None:
        self.settings = settings
        self.stats = stats
        self.directory = directory
        """Where a relative ``ca_file`` starts: the stack's directory."""
        self.url = settings.url.rstrip("/")
        self._local = threading.local()
        self._sessions: list[Any] = []
        self._lock = threading.Lock()

    # -- sessions ---------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        if not self.settings.verify_tls:
            return ssl._create_unverified_context()
        if self.settings.ca_file is None:
            return ssl.create_default_context()
        path = Path(self.settings.ca_file).expanduser()
        if not path.is_absolute() and self.directory is not None:
            path = self.directory / path
        try:
            return ssl.create_default_context(cafile=str(path))
        except FileNotFoundError:
            problem = "no such file"
        except (ssl.SSLError, OSError, ValueError) as exc:
            problem = f"not a PEM certificate ({getattr(exc, 'reason', None) or exc})"
        raise ProviderError(f"ca_file {path}: {problem}",
                            hint="give the PEM file of the pool's certificate (or its CA); a "
                                 "relative path starts at the stack's directory")

    def _transport(self, url: str) -> xmlrpc.client.Transport:
        timeout = max(self.settings.timeout, EVENT_WAIT + 10)
        if url.startswith("http://"):
            return _PlainTransport(timeout)
        return _Transport(self._context(), timeout)

    def session(self) -> Any:
        """This thread's session, logged in on first use."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._login()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _login(self) -> Any:
        password = self.settings.password.get_secret_value()
        for _ in range(MAX_REDIRECTS + 1):
            url = self.url
            what = f"cannot log in to {url} as {self.settings.username}"
            session = XenAPI.Session(url, transport=self._transport(url))
            try:
                with self.stats.track(CallKind.CONNECT):
                    session.xenapi.login_with_password(
                        self.settings.username, password, "2.0", "provisioner")
                return session
            except XenAPI.Failure as exc:
                details = list(exc.details)
                if details and details[0] == "HOST_IS_SLAVE" and len(details) > 1:
                    self._follow_master(url, str(details[1]))
                    continue
                raise failure_error(details, what) from None
            except TRANSPORT_ERRORS as exc:
                raise transport_error(exc, what, url) from None
        raise ProviderError(f"cannot log in to {self.settings.url}: pool members keep "
                            "naming another master", hint="check the pool's state")

    def _follow_master(self, url: str, master: str) -> None:
        """Use the master a member named for this and every later login."""
        parts = urlsplit(url)
        host = master if ":" in master.strip("[]").split("]")[-1] or not parts.port \
            else f"{master}:{parts.port}"
        with self._lock:
            if self.url == url:
                log.info("%s is a pool member; the master is %s", url, master)
                self.url = f"{parts.scheme}://{host}"

    def close(self) -> None:
        """Log every session out. Never raises: XAPI ends idle sessions anyway."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        self._local = threading.local()
        for session in sessions:
            with contextlib.suppress(Exception):
                session.xenapi.session.logout()

    # -- calls ------------------------------------------------------------------------

    def call(self, method: str, *args: Any, what: str = "", retry: bool = True) -> Any:
        """``method(*args)`` on XAPI (``"VM.start", ref, False, False``), counted. Refusals
        that changed nothing are retried when ``retry``; a call whose answer was lost is
        not (it may have happened): ``ConnectionLostError`` tells the caller to look."""
        label = what or method

        def once() -> Any:
            session = self.session()
            target: Any = session.xenapi
            for part in method.split("."):
                target = getattr(target, part)
            try:
                with self.stats.track(call_kind(method)):
                    return target(*args)
            except XenAPI.Failure as exc:
                raise failure_error(list(exc.details), f"{label}: {method}") from None
            except TRANSPORT_ERRORS as exc:
                self._drop_session()
                raise transport_error(exc, f"{label}: {method}", self.url) from None

        return retrying(once, RETRY.within(self.settings.retry_timeout),
                        lambda exc: retry and _refused_for_now(exc))

    def _drop_session(self) -> None:
        """Forget this thread's session after a broken connection (a new one is made)."""
        self._local.session = None

    def all_records(self, cls: str) -> dict[str, dict[str, Any]]:
        """Every object of a class, by reference: one LIST call."""
        records = self.call(f"{cls}.get_all_records")
        return dict(records or {})

    def put_raw(self, vdi: str, data: bytes, what: str = "") -> None:
        """Write ``data`` into a VDI from its first byte (``PUT /import_raw_vdi``). The
        URL holds the session: it is never logged."""
        session = self.session()
        parts = urlsplit(self.url)
        query = urlencode({"session_id": session.handle, "vdi": vdi, "format": "raw"})
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.netloc, timeout=self.settings.timeout, context=self._context())
        else:
            connection = http.client.HTTPConnection(parts.netloc, timeout=self.settings.timeout)
        label = f"{what or 'upload'}: import_raw_vdi"
        try:
            with self.stats.track(CallKind.WRITE):
                connection.request("PUT", f"/import_raw_vdi?{query}", body=data,
                                   headers={"Content-Length": str(len(data))})
                response = connection.getresponse()
                response.read()
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, label, self.url) from None
        finally:
            connection.close()
        if response.status != 200:
            raise ProviderError(f"{label}: XAPI answered HTTP {response.status} "
                                f"{response.reason}")

    # -- tasks ------------------------------------------------------------------------

    def task(self, method: str, *args: Any, what: str = "", timeout: float | None = None,
             progress: Callable[[float], None] | None = None) -> Any:
        """Run ``Async.method(*args)`` and wait for it with ``event.from``; returns the
        task's result. Raises the task's error, translated; cancels it after
        ``timeout`` (default ``task_timeout``) or when interrupted (Ctrl-C), then
        raises."""
        label = what or method
        token = self._event_token()
        task = self.call(f"Async.{method}", *args, what=label, retry=True)
        try:
            record = self._wait(task, token, label, timeout or self.settings.task_timeout,
                                progress)
        except BaseException:
            self._cancel(task, label)
            raise
        self._forget(task)
        status = str(record.get("status"))
        if status == "success":
            return decode_result(str(record.get("result") or ""))
        details = list(record.get("error_info") or [status.upper()])
        raise failure_error(details, f"{label}: {method}")

    def _event_token(self) -> str:
        batch = self.call("event.from", ["task"], "", 0.0)
        return str(batch["token"])

    def _wait(self, task: str, token: str, what: str, timeout: float,
              progress: Callable[[float], None] | None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        shown = -1
        for record in self._task_records(task, token, deadline):
            done = float(record.get("progress") or 0.0)
            if int(done * 10) > shown:  # a log line per tenth (--debug shows it)
                shown = int(done * 10)
                log.debug("%s: %s %d%%", what, record.get("name_label", "task"), done * 100)
            if progress is not None:
                progress(done)
            if str(record.get("status")) not in ("pending", "cancelling"):
                return record
        raise ProviderError(
            f"{what}: the XAPI task still runs after {timeout:g}s; it "
            "was cancelled", hint="raise task_timeout if the pool is only slow")

    def _task_records(self, task: str, token: str, deadline: float) -> Iterator[dict[str, Any]]:
        """The task's record each time it changes, until ``deadline``."""
        while (left := deadline - time.monotonic()) > 0:
            batch = self.call("event.from", ["task"], token, min(EVENT_WAIT, left))
            token = str(batch["token"])
            for event in batch.get("events") or ():
                if event.get("ref") != task:
                    continue
                if event.get("operation") == "del":
                    yield {"status": "failure", "error_info": ["HANDLE_INVALID", "task", task]}
                    return
                yield dict(event.get("snapshot") or {})

    def _cancel(self, task: str, what: str) -> None:
        with contextlib.suppress(ProviderError):
            self.call("task.cancel", task, what=what, retry=False)

    def _forget(self, task: str) -> None:
        with contextlib.suppress(ProviderError):
            self.call("task.destroy", task, retry=False)


def _refused_for_now(error: Exception) -> bool:
    """A refusal that changed nothing (not a lost answer, which may have done the change)."""
    from provisioner.errors import ConnectionLostError

    return isinstance(error, TransientProviderError) and not isinstance(error,
                                                                        ConnectionLostError)


def decode_result(text: str) -> Any:
    """A task's result as XAPI stores it (``<value>OpaqueRef:...</value>``), decoded."""
    if not text.strip():
        return None
    if not text.lstrip().startswith("<"):
        return text
    document = f"<methodResponse><params><param>{text}</param></params></methodResponse>"
    try:
        values: Sequence[Any] = xmlrpc.client.loads(document)[0]
    except (xmlrpc.client.ResponseError, ValueError, Exception):
        return text
    return values[0] if values else None
