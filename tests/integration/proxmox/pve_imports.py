"""What fakepve lacks of Proxmox VE 8.2+'s image imports, as PVE does it, and a record of
what the fake was sent.

fakepve (test-only, AGPL) refuses an upload of content ``import`` (its upload takes iso
and vztmpl only, though PVE 8.2's API schema, which it ships, allows import), does not
check an upload's ``checksum``, and keeps ``import-from=`` of a new disk as a plain
property, allocating a disk of the size written before it (0). ``ImportsLikePve``:

- ``upload``: takes content ``import`` too, checks the file against ``checksum`` and
  ``checksum-algorithm`` (a mismatch fails the task and stores nothing, as PVE's
  ``upload`` does), and records what arrived (``uploads``: node, storage, content, file
  name, bytes, sha256 of the bytes);
- ``download-url``: records the call (``downloads``) before fakepve stores a file of its
  own made-up size;
- ``lost``: a node's listing leaves out some volumes (a file only one node lacks);
- a new drive ``STORAGE:0,import-from=VOLID``: the volume must exist with content
  import or images; the disk is made of its size, and ``import-from`` is not kept (PVE
  copies the image at create time); ``imports`` records (VMID, drive, source).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fakepve.model import PveError, TaskError

GIB = 1024**3
_IMPORT_FROM = re.compile(r",?import-from=([^,]+)")


def _multipart(body: bytes, content_type: str) -> dict[str, Any]:
    boundary = content_type.split("boundary=", 1)[1].encode()
    fields: dict[str, Any] = {}
    for part in body.split(b"--" + boundary)[1:-1]:
        head, _, data = part[2:-2].partition(b"\r\n\r\n")
        disposition = head.decode().split("\r\n")[0]
        if 'filename="' in disposition:
            fields["filename"] = disposition.split('filename="', 1)[1].split('"', 1)[0]
            fields["data"] = data
        else:
            fields[disposition.split('name="', 1)[1].split('"', 1)[0]] = data.decode()
    return fields


class ImportsLikePve:
    """Mixin of TestPve (before FakePve): uploads of content import, import-from."""

    uploads: list[dict[str, Any]]
    downloads: list[dict[str, Any]]
    imports: list[tuple[int, str, str]]
    lost: dict[str, set[str]]
    """Node → volume ids its content listing leaves out (fakepve keeps one set of
    volumes per storage for every node: this is a file one node lacks)."""

    def _record_init(self) -> None:
        self.uploads, self.downloads, self.imports, self.lost = [], [], [], {}

    async def _content_list(self, v: dict[str, Any], user: str) -> Any:
        items = await super()._content_list(v, user)  # type: ignore[misc]
        hidden = self.lost.get(v["node"], set())
        return [item for item in items if item.get("volid") not in hidden]

    async def _upload(self, request: Any) -> Any:
        from fakepve.server import USER, ok
        name, node = request.match_info["storage"], request.match_info["node"]
        store = self._active_store(name, node)  # type: ignore[attr-defined]
        user = request[USER]
        self.require(user, "/storage/" + name, "Datastore.AllocateTemplate")  # type: ignore[attr-defined]
        body = await request.read()
        if int(request.headers.get("Content-Length", -1)) != len(body):
            raise PveError(400, "bad upload request")
        fields = _multipart(body, request.headers["Content-Type"])
        content = fields.get("content")
        if content not in ("iso", "vztmpl", "import"):
            raise PveError(400, "Parameter verification failed.", {"content": "value not allowed"})
        if content not in str(store.get("content", "")).split(","):
            raise PveError(500, f"storage '{name}' does not support '{content}' content")
        data: bytes = fields.get("data", b"")
        self.uploads.append({"node": node, "storage": name, "content": content,
                             "filename": fields.get("filename"), "size": len(data),
                             "sha256": hashlib.sha256(data).hexdigest(),
                             "checksum-algorithm": fields.get("checksum-algorithm")})

        async def task() -> None:
            algo = fields.get("checksum-algorithm")
            if algo and hashlib.new(algo, data).hexdigest() != fields.get("checksum"):
                raise TaskError(f"checksum mismatch: got '{hashlib.new(algo, data).hexdigest()}'"
                                f" != expected '{fields.get('checksum')}'")
            self.store_file(name, fields["filename"], len(data), content)  # type: ignore[attr-defined]
            if data[:4] == b"QFI\xfb":  # a qcow2's disk size, which import-from makes
                volumes = self.storages[name]["volumes"]  # type: ignore[attr-defined]
                volumes[f"{content}/{fields['filename']}"]["virtual"] = \
                    int.from_bytes(data[24:32], "big")
        return ok(await self.task(node, "imgcopy", "", user, task))  # type: ignore[attr-defined]

    async def _download_url(self, request: Any) -> Any:
        from fakepve.server import params
        self.downloads.append({"node": request.match_info["node"],
                               "storage": request.match_info["storage"],
                               **(await params(request))})
        return await super()._download_url(request)  # type: ignore[misc]

    def _qm_new_drive(self, vmid: int, key: str, value: str, default: str) -> Any:
        found = _IMPORT_FROM.search(value)
        if found is None:
            return super()._qm_new_drive(vmid, key, value, default)  # type: ignore[misc]
        source = found.group(1)
        sid, _, volname = source.partition(":")
        vol = self.storages.get(sid, {}).get("volumes", {}).get(volname)  # type: ignore[attr-defined]
        if vol is None or vol.get("content") not in ("import", "images"):
            raise PveError(500, f"volume '{source}' does not exist or is not importable")
        self.imports.append((vmid, key, source))
        rest = _IMPORT_FROM.sub("", value)
        target, _, props = rest.partition(",")
        storage = target.split(":", 1)[0] or default
        size = int(vol.get("virtual") or vol.get("size") or 0)
        sized = f"{storage}:{max(size, 1) / GIB:.6f}"
        return super()._qm_new_drive(  # type: ignore[misc]
            vmid, key, ",".join(p for p in (sized, props) if p), default)
