"""What a provider calls to import an image: the verified file, from the cache."""

from __future__ import annotations

from pathlib import Path

from provisioner.core.resources import Resource
from provisioner.images.cache import ImageCache
from provisioner.images.checksums import Checksum
from provisioner.images.progress import Progress


def image_file(resource: Resource, base: Path | None, cache: ImageCache | None = None) -> Path:
    """The verified copy of image ``resource`` in the cache, downloaded (or resumed)
    first if needed, with progress on stderr. ``base``: the stack's directory, where a
    relative path starts. Raises ProviderError (nothing imported) if it cannot be
    read or is not what its checksum says."""
    checksum = Checksum.parse(str(resource.spec["checksum"]))
    size = int(resource.settings.get("size") or 0)
    label = f"{resource.address}: downloading"
    return (cache or ImageCache()).fill(
        str(resource.settings["url"]), checksum, size, base or Path.cwd(),
        lambda start: Progress(label, size, start=start))

