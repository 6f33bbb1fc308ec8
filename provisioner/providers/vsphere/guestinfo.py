"""cloud-init through guestinfo: what the VMware datasource of cloud-init reads.

cloud-init (22.1 and later; earlier with the cloud-init-vmware-guestinfo
package) reads ``guestinfo.userdata`` and ``guestinfo.metadata`` from the VM's
extraConfig through VMware Tools, each with a ``.encoding`` key (``base64``
here). The metadata gets ``instance-id`` (``kit/cloudinit.py``: new whenever any
of the three documents changes, so cloud-init runs again at the next boot) and
``local-hostname`` unless the user's meta-data sets them; a network config is
carried inside the metadata as ``network`` with ``network.encoding``.

These keys are readable by anyone who may read the VM's configuration: the
documented price of guestinfo. Nothing here logs or quotes the content; YAML
errors are raised ``from None`` so the text does not ride along.

Read back, only digests are kept: the user-data's is recomputed from the VM,
the metadata's is compared with the one recorded in the ownership memo.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

import yaml

from provisioner.core.resources import Blob
from provisioner.core.specs import CloudInitSpec
from provisioner.providers.kit.cloudinit import FIELDS, instance_id

USERDATA = "guestinfo.userdata"
METADATA = "guestinfo.metadata"
KEYS = (USERDATA, f"{USERDATA}.encoding", METADATA, f"{METADATA}.encoding")


def documents(name: str, cloud_init: CloudInitSpec | None) -> dict[str, str]:
    """The guestinfo keys for a guest's ``cloud_init`` spec; every key set to "" (removed)
    without one. Raises ValueError when a blob has no content (a spec read back from
    state) or the meta-data is not a YAML mapping."""
    if cloud_init is None:
        return dict.fromkeys(KEYS, "")
    found = blobs(cloud_init)
    user = found["user_data"]
    values = dict.fromkeys(KEYS, "")
    if user is not None:
        values[USERDATA] = _b64(user.content)
        values[f"{USERDATA}.encoding"] = "base64"
    values[METADATA] = _b64(metadata(name, found))
    values[f"{METADATA}.encoding"] = "base64"
    return values


def metadata(name: str, blobs: Mapping[str, Blob | None]) -> bytes:
    """The metadata document for ``name``. Raises ValueError (see ``documents``)."""
    meta = blobs.get("meta_data")
    document: dict[str, Any] = {}
    if meta is not None:
        try:
            loaded = yaml.safe_load(meta.content) or {}
        except yaml.YAMLError:
            raise ValueError("cloud_init.meta_data is not valid YAML") from None
        if not isinstance(loaded, dict):
            raise ValueError("cloud_init.meta_data must be a YAML mapping")
        document.update(loaded)
    document.setdefault("instance-id", instance_id(name, blobs))
    document.setdefault("local-hostname", name)
    network = blobs.get("network_config")
    if network is not None:
        document["network"] = _b64(network.content)
        document["network.encoding"] = "base64"
    return yaml.safe_dump(document, sort_keys=True).encode()


def memo(name: str, cloud_init: CloudInitSpec | None) -> dict[str, Any] | None:
    """What the ownership memo keeps: the blobs (label and digest only, once stored)
    and the digest of the metadata document written."""
    if cloud_init is None:
        return None
    found = blobs(cloud_init)
    return {**found, "metadata": _digest(metadata(name, found))}


def blobs(cloud_init: CloudInitSpec | None) -> dict[str, Blob | None]:
    """The documents by field; raises ValueError for one without content (from state)."""
    if cloud_init is None:
        return dict.fromkeys(FIELDS)
    return {key: _blob(key, getattr(cloud_init, key)) for key in FIELDS}


def read(extra: Mapping[str, str], remembered: Mapping[str, Any] | None
         ) -> dict[str, Blob | None] | None:
    """The ``cloud_init`` spec a VM shows: the user-data's digest as found, the
    meta-data and network config as remembered while the metadata document is the
    one written (else a blob that differs, so the plan shows the change)."""
    user_text, meta_text = extra.get(USERDATA), extra.get(METADATA)
    if user_text is None and meta_text is None:
        return None
    remembered = remembered or {}
    user = _decoded(user_text, extra.get(f"{USERDATA}.encoding"))
    found: dict[str, Blob | None] = {key: _as_blob(remembered.get(key)) for key in FIELDS}
    if user is None:
        found["user_data"] = None
    else:
        digest = _digest(user)
        known = found["user_data"]
        label = known.label if known is not None and known.digest == digest else USERDATA
        found["user_data"] = Blob(label, digest, b"")
    meta = _decoded(meta_text, extra.get(f"{METADATA}.encoding"))
    meta_digest = None if meta is None else _digest(meta)
    if meta_digest != remembered.get("metadata"):
        found["meta_data"] = None if meta_digest is None else Blob(METADATA, meta_digest, b"")
    return found


def _blob(key: str, value: Any) -> Blob | None:
    if value is None:
        return None
    if not isinstance(value, Blob) or (not value.content and value.content_digest != _digest(b"")):
        raise ValueError(f"cloud_init.{key} has no content here (it was read back from the "
                         "state, not from the stack)")
    return value


def _as_blob(value: Any) -> Blob | None:
    return value if isinstance(value, Blob) else None


def _decoded(text: str | None, encoding: str | None) -> bytes | None:
    if text is None:
        return None
    if (encoding or "").lower() in ("base64", "b64"):
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return text.encode()
    return text.encode()


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


def _digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()
