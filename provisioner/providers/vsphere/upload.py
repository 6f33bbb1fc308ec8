"""Streaming a file to a datastore over the HTTP file API (``PUT /folder/PATH``).

The request carries the SOAP session's cookie (the API accepts it as it accepts
the SDK's calls) and is verified with the provider block's TLS context, as the
SDK connection is. The body is read from the open file in blocks of BLOCK bytes:
an image is never in memory whole.
"""

from __future__ import annotations

import http.client
import os
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from provisioner.errors import ProviderError, TransientProviderError
from provisioner.providers.vsphere import VsphereConfig
from provisioner.providers.vsphere.session import tls_context

BLOCK = 1024 * 1024


def put_file(settings: VsphereConfig, cookie: str, url: str, source: Path | BinaryIO,
             size: int | None = None, *, what: str, method: str = "PUT",
             content_type: str = "application/octet-stream") -> None:
    """PUT ``source`` (a path, or an open file read from where it is, ``size`` bytes) to
    ``url`` (or POST, for an import lease's streamOptimized disk). Raises ProviderError
    (TransientProviderError for a dropped connection)."""
    headers = {"Cookie": cookie, "Content-Type": content_type}
    parts = urlsplit(url)
    connection = http.client.HTTPSConnection(
        parts.hostname or settings.server, parts.port or settings.port,
        context=tls_context(settings), timeout=settings.timeout, blocksize=BLOCK)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    try:
        if isinstance(source, Path):
            with source.open("rb") as stream:
                status, reason = _send(connection, method, target, headers, stream,
                                       os.fstat(stream.fileno()).st_size)
        else:
            status, reason = _send(connection, method, target, headers, source,
                                   int(size or 0))
    except (OSError, http.client.HTTPException) as exc:
        raise TransientProviderError(f"{what}: the upload to the datastore broke off ({exc})",
                                     hint="apply again: the next plan deletes the "
                                          "half-made upload") from None
    finally:
        connection.close()
    if status not in (200, 201, 204):
        raise ProviderError(f"{what}: the datastore refused the upload (HTTP {status} "
                            f"{reason})", hint=_hint(status))


def _send(connection: http.client.HTTPSConnection, method: str, target: str,
          headers: dict[str, str], stream: BinaryIO, length: int) -> tuple[int, str]:
    connection.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    left = length
    while left > 0:
        block = stream.read(min(BLOCK, left))
        if not block:
            raise OSError(f"the file ended {left} bytes early")
        connection.send(block)
        left -= len(block)
    response = connection.getresponse()
    response.read()
    return response.status, str(response.reason)


def _hint(status: int) -> str:
    if status in (401, 403):
        return ("the user needs the Datastore.FileManagement privilege on the datastore "
                "(Browse datastore and Low level file operations)")
    if status == 404:
        return "check the datacenter and datastore of the provider block and the image's pool"
    return "see the vCenter's or host's log for the upload"
