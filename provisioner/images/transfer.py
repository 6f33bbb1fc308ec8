"""Reading an image's URL: ``https://``/``http://`` (TLS verified, Range requests to
resume), ``file://`` or a path relative to the stack's directory.

Errors are ProviderError naming the URL as ``shown_url`` gives it (no user, password or
query string: those may hold a token).
"""

from __future__ import annotations

import base64
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provisioner.core.file_access import FileRefused, open_regular
from provisioner.errors import ProviderError
from provisioner.images.formats import HEADER_BYTES
from provisioner.images.locations import local_path, shown_url

CHUNK = 1 << 20
TIMEOUT = 30.0
ATTEMPTS = 5
"""A download that stops early is resumed from where it stopped this many times."""
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError)


@dataclass(frozen=True)
class Head:
    """What the first bytes of a URL tell: its size and its header."""

    size: int
    header: bytes


def read_head(url: str, root: Path) -> Head:
    """The size and first HEADER_BYTES of the image at ``url``: one ranged GET for
    http(s) (the Content-Range gives the size), a stat and a read for a file."""
    path = local_path(url, root)
    if path is not None:
        try:
            with open_regular(path, f"cannot read {url}") as stream:
                return Head(os.fstat(stream.fileno()).st_size, stream.read(HEADER_BYTES))
        except FileRefused as exc:
            raise ProviderError(exc.message, hint="check the path (relative paths start at "
                                                  "the stack's directory)") from exc
        except OSError as exc:
            raise ProviderError(f"cannot read {url}: {exc.strerror or exc}",
                                hint="check the path (relative paths start at the stack's "
                                     "directory)") from exc
    with _open(url, 0, HEADER_BYTES - 1) as response:
        header = response.read(HEADER_BYTES)
        return Head(_total_size(response, len(header)), header)


def read_small(url: str, root: Path, limit: int = 4 << 20) -> str:
    """A small text file (a SUMS file) at most ``limit`` bytes long."""
    path = local_path(url, root)
    try:
        if path is not None:
            with open_regular(path, f"cannot read {shown_url(url)}") as stream:
                data = stream.read(limit + 1)
        else:
            with _open(url) as response:
                data = response.read(limit + 1)
    except FileRefused as exc:
        raise ProviderError(exc.message, hint=exc.hint) from exc
    except OSError as exc:
        raise ProviderError(f"cannot read {shown_url(url)}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise ProviderError(f"{shown_url(url)} is larger than {limit} bytes: not a SUMS file")
    return data.decode("utf-8", "replace")


def download(url: str, target: Path, size: int, progress: Callable[[int], None],
             pause: float = 1.0) -> None:
    """Append the bytes of ``url`` that ``target`` lacks (it may hold the start of an
    earlier, interrupted download), resuming after a dropped connection up to ATTEMPTS
    times; ProviderError if the whole ``size`` never arrives. ``progress`` is told
    the byte count after each chunk."""
    for attempt in range(ATTEMPTS):
        have = target.stat().st_size if target.exists() else 0
        if have >= size:
            return
        try:
            _append_from(url, target, have, progress)
        except _NETWORK_ERRORS as exc:  # HTTP errors are ProviderError: not retried
            if attempt == ATTEMPTS - 1:
                got = target.stat().st_size if target.exists() else 0
                raise ProviderError(
                    f"downloading {shown_url(url)} stopped at {got} of {size} bytes: {exc}",
                    hint="run apply again: the download resumes where it stopped") from exc
            time.sleep(pause * (attempt + 1))
    got = target.stat().st_size if target.exists() else 0
    if got < size:
        raise ProviderError(f"{shown_url(url)} ended at {got} of {size} bytes",
                            hint="run apply again: the download resumes where it stopped")


def _append_from(url: str, target: Path, have: int, progress: Callable[[int], None]) -> None:
    with _open(url, have if have else None) as response:
        mode = "ab" if have and response.status == 206 else "wb"
        done = have if mode == "ab" else 0
        with target.open(mode) as out:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                progress(done)


def copy_file(source: Path, target: Path, progress: Callable[[int], None]) -> None:
    """Copy a local image into ``target`` in chunks (never whole in memory)."""
    done = 0
    with source.open("rb") as src, target.open("wb") as out:
        while chunk := src.read(CHUNK):
            out.write(chunk)
            done += len(chunk)
            progress(done)


def _open(url: str, start: int | None = None,
          end: int | None = None) -> http.client.HTTPResponse:
    """A response for ``url`` (from byte ``start`` to ``end`` when given); HTTP and
    network errors as ProviderError."""
    plain_url, headers = _with_credentials(url)
    request = urllib.request.Request(plain_url, headers=headers)
    if start is not None or end is not None:
        request.add_header("Range", f"bytes={start or 0}-{'' if end is None else end}")
    try:
        response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=TIMEOUT)
        return response
    except urllib.error.HTTPError as exc:
        raise ProviderError(f"{shown_url(url)}: HTTP {exc.code} {exc.reason}",
                            hint="check the image's url") from exc
    except (urllib.error.URLError, OSError) as exc:  # TimeoutError is an OSError
        reason = getattr(exc, "reason", None) or exc
        raise ProviderError(f"cannot reach {shown_url(url)}: {reason}",
                            hint="check the url and the network (a proxy is taken from "
                                 "https_proxy)") from exc


def _with_credentials(url: str) -> tuple[str, dict[str, str]]:
    """The URL without ``user:password@`` and the headers that send them (HTTP Basic):
    urllib would take them for a host name."""
    headers = {"User-Agent": "provisioner"}
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, headers
    secret = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), headers


def _total_size(response: http.client.HTTPResponse, got: int) -> int:
    ranged = response.headers.get("Content-Range", "")
    if response.status == 206 and "/" in ranged and ranged.rsplit("/", 1)[1].isdigit():
        return int(ranged.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    if response.status == 200 and length and length.isdigit():
        return int(length)
    if response.status == 206:
        return got
    raise ProviderError(f"{shown_url(response.url or '')}: the server gives no size",
                        hint="serve the image with a Content-Length")

