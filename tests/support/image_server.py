"""A local HTTP server for image tests (no internet here): serves files from a
directory with Range support, counts requests, and can drop a connection part-way
(to test that a download resumes) or answer 404."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass
class ServerState:
    root: Path
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    """(method, path, Range header) of every request."""
    authorizations: list[str] = field(default_factory=list)
    """The Authorization header of every request that had one."""
    drop_after: int | None = None
    """Bytes of a body sent before the connection is cut (once per set)."""
    honour_range: bool = True


class _Handler(BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        state = self.state
        state.requests.append(("GET", self.path, self.headers.get("Range", "")))
        if self.headers.get("Authorization"):
            state.authorizations.append(self.headers["Authorization"])
        path = state.root / self.path.lstrip("/").split("?")[0]
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        start, end = 0, len(data) - 1
        ranged = _RANGE.fullmatch(self.headers.get("Range", "")) if state.honour_range else None
        if ranged:
            start = int(ranged.group(1))
            end = min(int(ranged.group(2)), end) if ranged.group(2) else end
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:end + 1]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if state.drop_after is not None and len(body) > state.drop_after:
            cut, state.drop_after = state.drop_after, None
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@dataclass
class ImageServer:
    url: str
    state: ServerState

    def gets(self, name: str) -> list[str]:
        """The Range headers of the GETs of ``name``."""
        return [rng for method, path, rng in self.state.requests
                if method == "GET" and path.lstrip("/") == name]


@contextmanager
def image_server(root: Path) -> Iterator[ImageServer]:
    """Serve ``root`` on 127.0.0.1 (a free port) while the block runs."""
    state = ServerState(root)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ImageServer(f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()
