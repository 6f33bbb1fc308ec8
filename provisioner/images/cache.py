"""One verified copy of each image, named by its digest, shared by every stack and
provider of the machine.

``~/.cache/provisioner/images`` (``$XDG_CACHE_HOME/provisioner/images``; the
``PROVISIONER_IMAGE_CACHE`` environment variable chooses another directory). An
image is ``sha256-HEX`` once verified; ``sha256-HEX.part`` while it downloads (kept
when the download stops, so the next run resumes it) and ``sha256-HEX.lock`` taken
while one process fills it, so two applies (or two providers of one apply) needing
the same image download it once.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioner.errors import ProviderError
from provisioner.images.checksums import Checksum
from provisioner.images.locations import local_path, shown_url

Report = Callable[[int], None]


def cache_root(environ: dict[str, str] | None = None) -> Path:
    """Where images are cached (see the module's docstring)."""
    env = os.environ if environ is None else environ
    if env.get("PROVISIONER_IMAGE_CACHE"):
        return Path(env["PROVISIONER_IMAGE_CACHE"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "provisioner" / "images"


class ImageCache:
    """The cache directory; each method is safe to call from several processes."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root()

    def path(self, checksum: Checksum) -> Path:
        return self.root / checksum.key

    def holds(self, checksum: Checksum) -> bool:
        """Whether a verified copy is there already."""
        return self.path(checksum).is_file()

    def partial(self, checksum: Checksum) -> int:
        """Bytes an interrupted download left (resumed by the next ``fill``)."""
        part = self.path(checksum).with_suffix(".part")
        return part.stat().st_size if part.is_file() else 0

    def fill(self, url: str, checksum: Checksum, size: int, base: Path,
             progress: Callable[[int], Report]) -> Path:
        """The verified copy of the image at ``url``, downloading (or resuming) it
        first if the cache lacks it. ``base``: where a relative path starts;
        ``progress(start)`` gives the reporter of one transfer. Raises ProviderError
        (nothing is left in the cache under the digest's name) when the content is
        not what ``checksum`` says, naming both digests."""
        final = self.path(checksum)
        with self._locked(checksum):
            if final.is_file():
                return final
            # the HTTP client is loaded only to fill the cache: a plan that finds
            # every image in place does not pay for it (issue 19)
            from provisioner.images.transfer import copy_file, download

            part = final.with_suffix(".part")
            source = local_path(url, base)
            if source is not None:
                copy_file(source, part, progress(0))
            else:
                download(url, part, size, progress(self.partial(checksum)))
            self._verify(part, checksum, url)
            os.chmod(part, 0o644)
            os.replace(part, final)
            return final

    def _verify(self, part: Path, checksum: Checksum, url: str) -> None:
        from provisioner.images.transfer import CHUNK

        hasher = checksum.hasher()
        with part.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                hasher.update(chunk)
        got = hasher.hexdigest()
        if got != checksum.hex:
            part.unlink(missing_ok=True)
            raise ProviderError(
                f"{shown_url(url)} is not the image the stack names: its {checksum.algorithm}"
                f" is {checksum.algorithm}:{got}, the stack says {checksum}",
                hint="nothing was imported; check the url and the checksum (a changed "
                     "upstream image needs the new checksum)")

    @contextmanager
    def _locked(self, checksum: Checksum) -> Iterator[None]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = self.path(checksum).with_suffix(".lock").open("a")
        except OSError as exc:
            raise ProviderError(f"cannot use the image cache {self.root}: "
                                f"{exc.strerror or exc}",
                                hint="set PROVISIONER_IMAGE_CACHE to a writable "
                                     "directory") from exc
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
