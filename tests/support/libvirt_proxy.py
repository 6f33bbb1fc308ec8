"""A UNIX-socket relay in front of the real libvirtd, to cut connections at will.

Clients connect to ``uri`` (``qemu+unix:///system?socket=...``); each connection is
relayed to the daemon's socket byte for byte. ``cut()`` shuts every relayed
connection down at once, as a daemon restart or a network cut does to a client; new
connections are relayed as before. Not a stand-in for libvirtd: the daemon on the
other side is the real one.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from types import TracebackType

DAEMON_SOCKET = "/var/run/libvirt/libvirt-sock"


class LibvirtRelay:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "libvirt-relay.sock"
        self.accepted = 0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.path}"

    def __enter__(self) -> LibvirtRelay:
        self._server.bind(str(self.path))
        self._server.listen(32)
        threading.Thread(target=self._accept, daemon=True, name="relay").start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.close()
        self.cut()

    def cut(self) -> None:
        """Shut down every connection relayed so far."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            daemon.connect(DAEMON_SOCKET)
            with self._lock:
                self.accepted += 1
                self._pairs.append((client, daemon))
            for source, sink in ((client, daemon), (daemon, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
