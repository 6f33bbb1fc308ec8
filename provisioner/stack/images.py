"""Which provider blocks each declared image is imported into.

An image is one declaration and one instance per provider block that needs it
(``images.debian-12@kvm``, ``images.debian-12@pve``): each instance is an object of
its own on its own hypervisor, created, replaced and deleted on its own. The blocks
are the image's ``provider:`` or ``providers:``, else every block of a guest that
uses it (``image:`` or ``disks[N].image``); a guest placed by a placement group
needs it on every member of the group.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from provisioner.core.address import Kind
from provisioner.core.file_access import FileRefused, allowed_directories, confined, open_regular
from provisioner.errors import StackProblem
from provisioner.images.locations import local_path
from provisioner.stack.model import Guest, Image, PlacementGroup, ResourceBase
from provisioner.stack.source import PathKey, SourceMap, format_path


def images_used(guest: Guest) -> Iterator[tuple[PathKey, str]]:
    """``(path, name)`` of every image a guest names (``image``, ``disks[N].image``)."""
    if guest.image is not None:
        yield ("image",), guest.image
    for index, disk in enumerate(guest.disks):
        if disk.image is not None:
            yield ("disks", index, "image"), disk.image


def settle_image_providers(
    entries: dict[Kind, dict[str, ResourceBase]],
    groups: Mapping[str, PlacementGroup],
    served: Mapping[str, tuple[Kind, ...] | None],
    source: SourceMap,
) -> list[StackProblem]:
    """Give every declared image its list of provider blocks (``providers``), in place;
    an image no guest uses and no block is named for is a problem. Blocks found
    through guests are kept only if they serve images (``served``: the kinds of each
    declared block): a guest on another is refused by its provider's own checks."""
    images = entries.get(Kind.IMAGE, {})
    needed: dict[str, list[str]] = {name: [] for name in images}
    for guest in entries.get(Kind.GUEST, {}).values():
        if not isinstance(guest, Guest):
            continue
        for _, name in images_used(guest):
            if name in needed:
                needed[name] += [member for member in _members(guest.provider, groups)
                                 if Kind.IMAGE in (served.get(member) or ())]
    problems = []
    for name, entry in list(images.items()):
        if not isinstance(entry, Image):
            continue
        chosen = _declared_providers(entry) or list(dict.fromkeys(needed[name]))
        if not chosen:
            path: PathKey = (Kind.IMAGE.value, name)
            problems.append(StackProblem(
                source.key_at(path), format_path(path),
                "no guest uses this image and it names no provider",
                "add `providers: [NAME]` to import it anyway, or remove it"))
        images[name] = entry.model_copy(update={"providers": chosen})
    return problems


def check_image_files(entries: dict[Kind, dict[str, ResourceBase]], root: Path,
                      source: SourceMap, directories: Sequence[Path] = ()
                      ) -> list[StackProblem]:
    """A local image (or SUMS file) must be a regular file inside the stack's directory
    or one the user allows (core/file_access.py): an image is copied onto the
    hypervisor, where a guest can read it. Its size is not bounded: it is streamed."""
    allowed = allowed_directories(*(directories or (root,)))
    problems = []
    for name, entry in entries.get(Kind.IMAGE, {}).items():
        for field in ("url", "checksum_url"):
            url = getattr(entry, field, None)
            path = local_path(url, root) if isinstance(url, str) else None
            if path is None:
                continue
            try:
                resolved = confined(path, allowed, f"cannot use {url}")
                if resolved.exists():  # a missing one is reported by the plan, as remote ones
                    open_regular(resolved, f"cannot read {url}").close()
            except FileRefused as exc:
                where: PathKey = (Kind.IMAGE.value, name, field)
                problems.append(StackProblem(source.value_at(where), format_path(where),
                                             exc.message, exc.hint))
    return problems


def image_providers(entry: ResourceBase) -> Sequence[tuple[PathKey, str]]:
    """``(path, provider)`` of each provider block a resource is on: one for every
    kind but images, which list theirs (paths for the problems that name them)."""
    if not isinstance(entry, Image):
        return [(("provider",), entry.provider)]
    if entry.provider is not None:
        return [(("provider",), entry.provider)]
    return [(("providers", index), name) for index, name in enumerate(entry.providers or [])]


def _declared_providers(entry: Image) -> list[str]:
    if entry.provider is not None:
        return [entry.provider]
    return list(dict.fromkeys(entry.providers or []))


def _members(provider: str, groups: Mapping[str, PlacementGroup]) -> list[str]:
    group = groups.get(provider)
    return list(group.providers) if group is not None else [provider]
