"""The stack lock of the PostgreSQL backend: a session advisory lock.

Held on a connection of its own for the whole ``with`` block; the server drops it
when that session ends, so a run that died (process killed, host gone, connection
cut) never leaves a stuck lock. The holder's row in ``provisioner_locks`` names it
for whoever must wait; the row is believed only while its session really holds the
lock (``pg_locks``). While a store holds the lock its writes are fenced: each one
first checks that its session still holds it (``force-unlock`` ends that session).

``AdvisoryLock`` is mixed into ``PostgresStore``, whose connections it uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import DictRow

from provisioner.errors import LockError, StateError
from provisioner.state.pg_connection import Connection, lost
from provisioner.state.pg_schema import HOLDER_SQL
from provisioner.state.store import LockHolder, new_holder

_POLL_INTERVAL = 0.1
_TERMINATE_WAIT = 5.0
_UNLOCK_HINT = ("wait for that run to finish; if it died, its session on the state server "
                "ended and the lock with it; `provisioner force-unlock ID` ends the session "
                "of a stuck holder")


class AdvisoryLock:
    """The lock methods of ``PostgresStore`` (see the module's docstring)."""

    stack: str
    server: str
    _lock_key: int
    _mutex: threading.Lock
    _fence: int | None
    """While this store holds the lock: the backend pid of the lock's session."""

    if TYPE_CHECKING:  # provided by PostgresStore
        def _connect(self, purpose: str = "") -> Connection: ...
        def _connection(self) -> Connection: ...
        def _translated(self, conn: Connection | None = None,
                        doing: str = "") -> AbstractContextManager[None]: ...
        def _rows(self, sql: str,
                  params: Sequence[Any] | Mapping[str, Any] = ()) -> list[DictRow]: ...
        def _error(self, exc: psycopg.Error, lost: bool = False,
                   doing: str = "") -> StateError: ...

    def _key_params(self) -> dict[str, Any]:
        unsigned = self._lock_key & 0xFFFF_FFFF_FFFF_FFFF
        return {"stack": self.stack, "high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}

    def _check_fence(self, conn: Connection) -> None:
        """While this store holds the lock, write only if its session still does: a
        force-unlocked or cut-off run must not go on writing beside the next one."""
        fence = self._fence
        if fence is None:
            return
        rows = conn.execute(HOLDER_SQL, self._key_params()).fetchall()
        if not rows or rows[0]["session"] != fence:
            raise LockError(
                f"state server {self.server}: the lock of stack {self.stack} was lost during "
                "this run (its session ended: force-unlock, server restart or network cut)",
                hint="nothing more was written; run `provisioner plan` to see where the stack "
                     "stands, then apply again")

    def lock(self, operation: str, timeout: float) -> AbstractContextManager[LockHolder]:
        return self._hold(operation, timeout)

    @contextmanager
    def _hold(self, operation: str, timeout: float) -> Iterator[LockHolder]:
        conn = self._connect("lock")
        try:
            with self._translated(conn):
                self._acquire(conn, timeout)
                holder = new_holder(operation)
                backend_pid = conn.info.backend_pid
                conn.execute(
                    "INSERT INTO provisioner_locks VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (stack) DO UPDATE SET id = EXCLUDED.id, host = EXCLUDED.host,"
                    " pid = EXCLUDED.pid, user_name = EXCLUDED.user_name,"
                    " operation = EXCLUDED.operation, since = EXCLUDED.since,"
                    " backend_pid = EXCLUDED.backend_pid",
                    (self.stack, holder.id, holder.host, holder.pid, holder.user,
                     holder.operation, holder.since, backend_pid))
            self._fence = backend_pid
            try:
                yield holder
            finally:
                self._fence = None
                with suppress(psycopg.Error):  # must not hide the block's own error; closing
                    conn.execute(  # the session below releases the lock in any case
                        "DELETE FROM provisioner_locks WHERE stack = %s AND id = %s",
                        (self.stack, holder.id))
                    conn.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))
        finally:
            conn.close()

    def _acquire(self, conn: Connection, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got",
                               (self._lock_key,)).fetchall()[0]
            if row["got"]:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._locked_error(conn)
            time.sleep(min(_POLL_INTERVAL, remaining))

    def _locked_error(self, conn: Connection) -> LockError:
        rows = conn.execute(HOLDER_SQL, self._key_params()).fetchall()
        if rows and rows[0]["id"] is not None:
            who = f": {_holder_from_row(rows[0]).describe()}"
        elif rows:
            who = f" by another session of the state server (backend pid {rows[0]['session']})"
        else:  # released between the try and this look
            who = " by another process"
        return LockError(f"the stack is locked{who}", hint=_UNLOCK_HINT)

    def lock_holder(self) -> LockHolder | None:
        """The holder, None if free; an ``unknown`` holder if held but not yet described."""
        rows = self._rows(HOLDER_SQL, self._key_params())
        if not rows:
            return None
        if rows[0]["id"] is None:
            return LockHolder("", "unknown", 0, "unknown", "unknown", "")
        return _holder_from_row(rows[0])

    def force_unlock(self, lock_id: str) -> str:
        """The lock is a session's: ending that session on the server
        (``pg_terminate_backend``) frees it, whether the run behind it is stuck, cut
        off or still going (its next state write then fails: see ``_check_fence``)."""
        rows = self._rows(HOLDER_SQL, self._key_params())
        if not rows:
            return "the stack is not locked; nothing to do"
        session = rows[0]["session"]
        if rows[0]["id"] != lock_id:
            current = (_holder_from_row(rows[0]).describe() if rows[0]["id"] is not None
                       else f"an undescribed holder, backend pid {session}")
            raise LockError(f"lock {lock_id} is not the current lock ({current})",
                            hint="pass the id `provisioner show` or the lock error names")
        holder = _holder_from_row(rows[0])
        self._terminate(session, lock_id)
        return (f"ended the state server session (backend pid {session}) that held the lock: "
                f"{holder.describe()}; the stack is unlocked")

    def _terminate(self, session: int, lock_id: str) -> None:
        with self._mutex:
            conn = self._connection()
            try:
                conn.execute("SELECT pg_terminate_backend(%s)", (session,))
                conn.execute("DELETE FROM provisioner_locks WHERE stack = %s AND id = %s",
                             (self.stack, lock_id))
            except pg_errors.InsufficientPrivilege as exc:
                raise LockError(
                    f"state server {self.server}: not allowed to end the session (backend "
                    f"pid {session}) that holds the lock of stack {self.stack}",
                    hint="the role needs to be the holder's or a member of pg_signal_backend; "
                         f"or a database admin runs SELECT pg_terminate_backend({session})"
                ) from exc
            except psycopg.Error as exc:
                raise self._error(exc, lost(conn)) from exc
        deadline = time.monotonic() + _TERMINATE_WAIT
        while any(row["session"] == session
                  for row in self._rows(HOLDER_SQL, self._key_params())):
            if time.monotonic() > deadline:
                raise LockError(
                    f"state server {self.server}: asked to end the session (backend pid "
                    f"{session}) holding the lock, but it still holds it after "
                    f"{_TERMINATE_WAIT:.0f} s", hint="run force-unlock again in a moment")
            time.sleep(_POLL_INTERVAL)


def _holder_from_row(row: DictRow) -> LockHolder:
    return LockHolder(id=row["id"], host=row["host"], pid=row["pid"], user=row["user_name"],
                      operation=row["operation"], since=row["since"])
