"""XAPI's ``PUT /import_raw_vdi`` HTTP handler: writes bytes into a VDI.

The real handler takes ``session_id``, ``vdi`` (or ``task_id``) and ``format``
(``raw`` or ``vhd``) in the query and the disk's content as the body. Here the
content is kept in ``sim.vdi_contents`` (so tests can read back what a config
drive holds); it must fit the VDI's virtual size, the session must be valid
and its role must be allowed to write VDIs (the model's roles of
``VDI.create``), and a VDI attached to a running VM is refused, as XAPI's
handler refuses a VDI in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from .errors import XapiError

if TYPE_CHECKING:
    from .simulator import XapiSimulator


def import_raw_vdi(sim: XapiSimulator, path: str, body: bytes) -> tuple[int, str]:
    """(HTTP status, reason) of one PUT."""
    parts = urlsplit(path)
    if parts.path != "/import_raw_vdi":
        return 404, "Not Found"
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    try:
        role = sim.sessions.role_of(query.get("session_id"))
    except XapiError:
        return 401, "Unauthorised"
    allowed = sim.model.cls("VDI").messages["create"].roles
    if allowed and role not in allowed:
        return 403, "Forbidden"
    if query.get("format", "vhd") not in ("raw", "vhd"):
        return 400, "Bad Request"
    with sim.store.lock:
        vdi = query.get("vdi", "")
        if not sim.store.exists("VDI", vdi):
            return 404, "VDI not found"
        record = sim.store.get("VDI", vdi)
        if len(body) > int(record.get("virtual_size") or 0):
            return 400, "Content larger than the VDI"
        for vbd in record.get("VBDs") or ():
            if sim.store.exists("VBD", vbd) and sim.store.get("VBD", vbd).get(
                    "currently_attached"):
                return 500, "VDI_IN_USE"
        sim.vdi_contents[vdi] = bytes(body)
    sim.controls.record("HTTP.import_raw_vdi", (vdi, len(body)))
    return 200, "OK"
