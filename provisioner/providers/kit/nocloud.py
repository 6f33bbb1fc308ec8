"""The cloud-init NoCloud seed: files from a guest's ``cloud_init`` spec, and the ISO.

For every provider whose guests boot with a seed disk (libvirt, and QEMU
next): the provider only uploads or attaches the image.

NoCloud finds a filesystem labelled ``cidata`` holding ``user-data``,
``meta-data`` and optionally ``network-config``. The files and the ISO are
pure functions of the spec, and the ISO is byte-identical for the same files
(every timestamp is pinned), so its digest can be stored and compared like
any other blob. A new user-data gives a new default ``instance-id``, which is
what makes cloud-init run again on the next boot.

The contents may hold passwords: nothing here logs them or puts them in an
exception message, and parse errors are raised ``from None`` so the
offending YAML does not ride along as a chained cause.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import yaml

from provisioner.core.digests import plain_digest
from provisioner.core.resources import Blob
from provisioner.core.specs import CloudInitSpec
from provisioner.errors import ProviderError
from provisioner.providers.kit.cloudinit import instance_id

VOLUME_LABEL = "cidata"
EMPTY_USER_DATA = b"#cloud-config\n"
"""Written when the stack gives no user-data: NoCloud ignores a seed without the file."""

_FILES = (  # (field, ISO9660 level-3 name, Rock Ridge / Joliet name)
    ("user_data", "USER_DATA.;1", "user-data"),
    ("meta_data", "META_DATA.;1", "meta-data"),
    ("network_config", "NETWORK_CONFIG.;1", "network-config"),
)


@dataclass(frozen=True)
class SeedFiles:
    """The seed's files; ``None`` means the file is absent (see EMPTY_USER_DATA)."""

    user_data: bytes | None
    meta_data: bytes
    network_config: bytes | None


def seed_files(name: str, cloud_init: CloudInitSpec | None) -> SeedFiles | None:
    """The seed of guest ``name`` from its cloud-init data; None without any.

    meta-data gets ``instance-id`` and ``local-hostname`` unless the user set
    them. Raises ValueError when a blob has no content (read back from state)
    or the user's meta-data is not a YAML mapping.
    """
    if cloud_init is None:
        return None
    blobs = {key: _blob(name, key, getattr(cloud_init, key)) for key, _, _ in _FILES}
    defaults = {"instance-id": instance_id(name, blobs), "local-hostname": name}
    meta = blobs["meta_data"]
    return SeedFiles(
        user_data=None if blobs["user_data"] is None else blobs["user_data"].content,
        meta_data=_with_defaults(name, None if meta is None else meta.content, defaults),
        network_config=(None if blobs["network_config"] is None
                        else blobs["network_config"].content),
    )


def _blob(name: str, key: str, value: Blob | None) -> Blob | None:
    if value is None:
        return None
    # Blobs restored from state carry only the digest; a seed built from one would be empty.
    if plain_digest(value.content) != value.content_digest:
        raise ValueError(f"{name}: cloud_init.{key} ({value.label}) has no content loaded; "
                         "build the seed from the resolved stack, not from state")
    return value


def _with_defaults(name: str, text: bytes | None, defaults: Mapping[str, str]) -> bytes:
    """The user's meta-data text, with the default keys it lacks appended."""
    if text is None:
        return _yaml_lines(defaults)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"{name}: cloud_init.meta_data is not valid YAML{where}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ValueError(f"{name}: cloud_init.meta_data must be a YAML mapping "
                         f"(key: value lines), not a {type(document).__name__}")
    missing = {key: value for key, value in defaults.items() if key not in document}
    if not missing:
        return text
    appended = text if text.endswith(b"\n") or not text else text + b"\n"
    appended += _yaml_lines(missing)
    # Appending is wrong for a flow mapping ("{a: 1}") or an explicit document end
    # ("..."): then write the merged mapping instead (comments are lost, keys kept).
    with contextlib.suppress(yaml.YAMLError):
        if yaml.safe_load(appended) == {**document, **missing}:
            return appended
    return yaml.safe_dump({**document, **missing}, sort_keys=False).encode()


def _yaml_lines(values: Mapping[str, str]) -> bytes:
    # safe_dump quotes names YAML would read as something else ("123", "true", "null").
    return yaml.safe_dump(dict(values), sort_keys=False, default_flow_style=False).encode()


def build_iso(files: SeedFiles) -> bytes:
    """The ``cidata`` ISO9660 image (Joliet + Rock Ridge), built in memory; deterministic."""
    contents = {
        "user_data": EMPTY_USER_DATA if files.user_data is None else files.user_data,
        "meta_data": files.meta_data,
        "network_config": files.network_config,
    }
    import pycdlib  # here: a plan with nothing to seed never pays for the import

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident=VOLUME_LABEL, joliet=3, rock_ridge="1.09")
    try:
        for key, iso_name, long_name in _FILES:
            data = contents[key]
            if data is not None:
                iso.add_fp(io.BytesIO(data), len(data), iso_path="/" + iso_name,
                           rr_name=long_name, joliet_path="/" + long_name, file_mode=0o100444)
        out = io.BytesIO()
        iso.write_fp(out)
    finally:
        iso.close()
    image = bytearray(out.getvalue())
    _pin_dates(image)
    return bytes(image)


def seed_iso(name: str, cloud_init: CloudInitSpec, what: str) -> bytes:
    """The seed ISO of guest ``name``, for a provider that writes it as a file (VirtualBox,
    Parallels); a ProviderError naming ``what`` when the data cannot make one."""
    try:
        files = seed_files(name, cloud_init)
    except ValueError as exc:
        raise ProviderError(f"{what}: {exc}") from None
    if files is None:
        raise ProviderError(f"{what}: cloud_init has nothing to seed")
    return build_iso(files)


def seed_digest(files: SeedFiles) -> str:
    """``sha256:`` digest of the seed ISO: compare it with the applied one to see a change."""
    return "sha256:" + hashlib.sha256(build_iso(files)).hexdigest()


# --- pinning timestamps -------------------------------------------------------
# pycdlib stamps volume descriptors, directory records and Rock Ridge TF entries
# with time.time() in local time, and has no option to choose the time (the
# volume modification date is even taken while writing). So the written image
# is walked and every date overwritten with 2000-01-01 00:00:00 UTC. Do not
# patch time.time around the build instead: provider calls run in threads.

_SECTOR = 2048
_VD_DATE = b"2000010100000000\x00"  # ECMA-119 8.4.26.1: digits, hundredths, GMT offset
_DR_DATE = bytes([100, 1, 1, 0, 0, 0, 0])  # ECMA-119 9.1.5: years since 1900, ..., offset
_VD_DATE_OFFSETS = (813, 830, 864)  # creation, modification, effective (expiration unset)
_VD_ROOT_RECORD = 156


def _pin_dates(image: bytearray) -> None:
    sector = 16
    while (sector + 1) * _SECTOR <= len(image):
        base = sector * _SECTOR
        vd_type = image[base]
        if image[base + 1:base + 6] != b"CD001" or vd_type == 255:
            break
        if vd_type in (1, 2):  # primary, supplementary (Joliet)
            for offset in _VD_DATE_OFFSETS:
                image[base + offset:base + offset + 17] = _VD_DATE
            _pin_tree(image, base + _VD_ROOT_RECORD, set())
        sector += 1


def _pin_tree(image: bytearray, record: int, seen: set[int]) -> None:
    """Pin one directory record and, for a directory, everything under it."""
    _pin_record(image, record)
    extent, length = _u32(image, record + 2), _u32(image, record + 10)
    if not image[record + 25] & 0x02 or extent in seen:
        return
    seen.add(extent)
    for child in _records(image, extent * _SECTOR, length):
        if image[child + 32] == 1 and image[child + 33] in (0, 1):  # "." and ".."
            _pin_record(image, child)
        else:
            _pin_tree(image, child, seen)


def _records(image: bytearray, start: int, length: int) -> Iterator[int]:
    """Offsets of the directory records in a directory extent (none crosses a sector)."""
    position = start
    while position < start + length:
        size = image[position]
        if size == 0:
            position = (position // _SECTOR + 1) * _SECTOR
            continue
        yield position
        position += size


def _pin_record(image: bytearray, record: int) -> None:
    image[record + 18:record + 25] = _DR_DATE
    name_length = image[record + 32]
    system_use = record + 33 + name_length + (1 - name_length % 2)
    _pin_susp(image, system_use, record + image[record])


def _pin_susp(image: bytearray, position: int, end: int) -> None:
    """Rock Ridge TF timestamps in a System Use area, following CE continuations."""
    while position + 4 <= end:
        signature, size = bytes(image[position:position + 2]), image[position + 2]
        if size < 4 or signature == b"ST":
            return
        if signature == b"TF":
            flags = image[position + 4]
            stamp, width = position + 5, 17 if flags & 0x80 else 7
            for bit in range(7):
                if flags & (1 << bit):
                    image[stamp:stamp + width] = _VD_DATE if width == 17 else _DR_DATE
                    stamp += width
        elif signature == b"CE":
            area = _u32(image, position + 4) * _SECTOR + _u32(image, position + 12)
            _pin_susp(image, area, area + _u32(image, position + 20))
        position += size


def _u32(image: bytearray, offset: int) -> int:
    return int(struct.unpack_from("<I", image, offset)[0])
