"""The cloud-init seed's upload into a libvirt storage pool (the seed itself is
``kit/nocloud.py``)."""

from __future__ import annotations

import contextlib
import io
import xml.etree.ElementTree as ET
from typing import BinaryIO

import libvirt

from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient

_CHUNK = 256 * 1024


def upload_seed(
    client: LibvirtClient, pool: libvirt.virStoragePool, volume_name: str, data: bytes
) -> libvirt.virStorageVol:
    """Create volume ``volume_name`` (raw, exactly ``len(data)`` bytes) holding ``data``.

    An existing volume of that name is deleted first: the caller owns the name
    (it carries the stack, see ownership.py). If this raises, the new volume is
    deleted again (best effort) and the old one is gone. A running guest keeps
    the old file open until its qemu process restarts; a reboot from inside
    the guest does not see the new seed.
    """
    what = f"seed volume {pool.name()}/{volume_name}"
    with contextlib.suppress(ObjectNotFoundError):  # not there (or gone meanwhile): fine
        old = client.call(CallKind.READ, what, pool.storageVolLookupByName, volume_name)
        client.call(CallKind.WRITE, what, old.delete, 0)
    volume: libvirt.virStorageVol = client.call(
        CallKind.WRITE, what, pool.createXML, _volume_xml(volume_name, len(data)), 0
    )
    try:
        # One call for the whole transfer: a transient failure retries it with a new
        # stream, never a half-used one.
        client.call(CallKind.WRITE, what, _send, client.conn, volume, data, what)
    except BaseException:
        with contextlib.suppress(ProviderError):
            client.call(CallKind.WRITE, what, volume.delete, 0)
        raise
    return volume


def _volume_xml(name: str, size: int) -> str:
    root = ET.Element("volume")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "capacity", {"unit": "bytes"}).text = str(size)
    ET.SubElement(ET.SubElement(root, "target"), "format", {"type": "raw"})
    return ET.tostring(root, encoding="unicode")


def _send(conn: libvirt.virConnect, volume: libvirt.virStorageVol, data: bytes,
          what: str) -> None:
    send_stream(conn, volume, io.BytesIO(data), len(data), what)


def send_stream(conn: libvirt.virConnect, volume: libvirt.virStorageVol, source: BinaryIO,
                length: int, what: str) -> None:
    """Upload ``length`` bytes read from ``source`` into ``volume``, chunk by chunk (a
    large image is never held in memory); the stream is aborted if anything fails."""
    stream = conn.newStream(0)
    try:
        volume.upload(stream, 0, length, 0)
        sent = 0
        while sent < length:
            chunk = source.read(min(_CHUNK, length - sent))
            if not chunk:
                raise ProviderError(f"{what}: the source ended at {sent} of {length} bytes")
            view, done = memoryview(chunk), 0
            while done < len(chunk):
                count = stream.send(bytes(view[done:]))
                if count <= 0:  # -2 is "would block", impossible on a blocking stream
                    raise ProviderError(f"{what}: the upload stream accepted no data "
                                        f"({count})")
                done += count
            sent += len(chunk)
        stream.finish()
    except BaseException:
        with contextlib.suppress(libvirt.libvirtError):
            stream.abort()
        raise
