"""What a plan knows about each image before anything is fetched: its checksum (given,
read from a SUMS file, or computed for a local file), its size, the disk size it
holds, its format, and whether the cache holds it already.

One ranged GET per remote image (and one per SUMS file), run in parallel; an image
the cache holds costs no request. A problem (unreachable, 404, a format other than
the one declared) is a ``Problem`` at the image's field, so the plan is refused
before anything is created.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.errors import ProviderError
from provisioner.images.cache import ImageCache
from provisioner.images.checksums import Checksum, checksum_in_sums
from provisioner.images.formats import HEADER_BYTES, detect_format, virtual_size
from provisioner.images.locations import file_name, local_path, shown_url
from provisioner.images.transfer import CHUNK, Head, read_head, read_small

_WORKERS = 8


@dataclass(frozen=True)
class ImageSource:
    """One image as the plan sees it."""

    checksum: Checksum
    size: int
    virtual_size: int
    format: str
    cached: bool


def with_sources(resources: Sequence[Resource], base: Path,
                 cache: ImageCache) -> tuple[list[Resource], list[Problem]]:
    """``resources`` with each image's checksum and format in its spec and its size,
    disk size and cache state in its settings; problems for those that cannot be
    known. Instances of one image on several providers are read once."""
    images = [r for r in resources if r.kind is Kind.IMAGE]
    if not images:
        return list(resources), []
    declared = {_declaration(r): r for r in images}
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(declared)),
                            thread_name_prefix="image") as pool:
        futures = {key: pool.submit(_source, r, base, cache) for key, r in declared.items()}
        found = {key: future.result() for key, future in futures.items()}
    problems: list[Problem] = []
    result = []
    for resource in resources:
        if resource.kind is not Kind.IMAGE:
            result.append(resource)
            continue
        source = found[_declaration(resource)]
        if isinstance(source, Problem):
            problems.append(replace(source, address=resource.address))
            result.append(resource)
        else:
            result.append(_completed(resource, source))
    return result, problems


def _declaration(resource: Resource) -> tuple[str, str]:
    return resource.address.name.partition("@")[0], str(resource.settings.get("url"))


def _completed(resource: Resource, source: ImageSource) -> Resource:
    spec = dict(resource.spec)
    spec["checksum"] = str(source.checksum)
    spec["format"] = source.format
    settings = dict(resource.settings) | {
        "size": source.size, "virtual_size": source.virtual_size, "cached": source.cached}
    return replace(resource, spec=spec, settings=settings)


def _source(resource: Resource, base: Path, cache: ImageCache) -> ImageSource | Problem:
    url = str(resource.settings["url"])
    try:
        checksum = _checksum(resource, base)
    except ProviderError as exc:
        field = "checksum_url" if resource.settings.get("checksum_url") else "checksum"
        return Problem(exc.message, None, field, hint=exc.hint or "")
    try:
        held = cache.path(checksum) if checksum is not None else None
        head = _head_of_file(held) if held and held.is_file() else read_head(url, base)
        if checksum is None:
            checksum = _digest_of_local(url, base, cache)
        return _checked(resource, checksum, head, cache.holds(checksum))
    except ProviderError as exc:
        return Problem(exc.message, None, "url", hint=exc.hint or "")


def _checked(resource: Resource, checksum: Checksum, head: Head,
             cached: bool) -> ImageSource | Problem:
    detected = detect_format(head.header)
    declared = resource.spec.get("format")
    if declared is not None and declared != detected:
        return Problem(f"is {declared}, but the file is {detected}", None, "format",
                       hint=f"write format: {detected}, or leave format out to detect it")
    return ImageSource(checksum, head.size, virtual_size(head.header, detected, head.size),
                       detected, cached)


def _checksum(resource: Resource, base: Path) -> Checksum | None:
    given = resource.spec.get("checksum")
    if given:
        return Checksum.parse(str(given))
    sums = resource.settings.get("checksum_url")
    if not sums:
        return None
    text = read_small(str(sums), base)
    return checksum_in_sums(text, file_name(str(resource.settings["url"])), shown_url(str(sums)))


def _head_of_file(path: Path) -> Head:
    with path.open("rb") as stream:
        return Head(path.stat().st_size, stream.read(HEADER_BYTES))


def _digest_of_local(url: str, base: Path, cache: ImageCache) -> Checksum:
    """The sha256 of a local image the stack gives no checksum for, remembered by path,
    size and modification time (a plan does not read a large file twice)."""
    path = local_path(url, base)
    if path is None:  # the model requires a checksum for http(s)
        raise ProviderError(f"{shown_url(url)}: no checksum", hint="give checksum:")
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    memo_file = cache.root / "local-digests.json"
    memo = _read_memo(memo_file)
    if key in memo:
        return Checksum.parse(memo[key])
    hasher = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            hasher.update(chunk)
    checksum = Checksum("sha256", hasher.hexdigest())
    memo[key] = str(checksum)
    _write_memo(memo_file, memo)
    return checksum


def _read_memo(path: Path) -> dict[str, str]:
    try:
        loaded: Any = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, Mapping) else {}


def _write_memo(path: Path, memo: Mapping[str, str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(dict(memo), sort_keys=True))
        os.replace(temporary, path)
    except OSError:
        pass  # only a memo: the next plan computes the digest again
