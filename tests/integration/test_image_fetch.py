"""Fetching images over HTTP from a server in the test process (no internet here):
one download per digest, resumed after a dropped connection, verified before anything
is kept, and what the plan learns before anything is fetched."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import pytest
from support.image_server import ImageServer, image_server

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource
from provisioner.errors import ProviderError
from provisioner.images.cache import ImageCache
from provisioner.images.checksums import Checksum
from provisioner.images.sources import with_sources

CONTENT = os.urandom(3 << 20)  # 3 MiB: several chunks


def sha256(data: bytes) -> Checksum:
    return Checksum("sha256", hashlib.sha256(data).hexdigest())


@pytest.fixture
def served(tmp_path: Path) -> ImageServer:
    root = tmp_path / "www"
    root.mkdir()
    (root / "disk.img").write_bytes(CONTENT)
    with image_server(root) as server:
        yield server  # type: ignore[misc]


def quiet(start: int) -> object:
    return lambda done: None


def fill(cache: ImageCache, url: str, checksum: Checksum, tmp_path: Path) -> Path:
    return cache.fill(url, checksum, len(CONTENT), tmp_path, quiet)  # type: ignore[arg-type]


def test_an_image_is_downloaded_once_and_kept_under_its_digest(
        served: ImageServer, tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "cache")
    url = f"{served.url}/disk.img"
    path = fill(cache, url, sha256(CONTENT), tmp_path)
    assert path.name == sha256(CONTENT).key and path.read_bytes() == CONTENT
    assert fill(cache, url, sha256(CONTENT), tmp_path) == path
    assert len(served.gets("disk.img")) == 1  # the second fill asked nothing


def test_a_dropped_download_resumes_where_it_stopped(
        served: ImageServer, tmp_path: Path) -> None:
    served.state.drop_after = 1 << 20
    cache = ImageCache(tmp_path / "cache")
    path = fill(cache, f"{served.url}/disk.img", sha256(CONTENT), tmp_path)
    assert path.read_bytes() == CONTENT
    ranges = served.gets("disk.img")
    assert ranges[0] == "" and ranges[1].startswith("bytes=")
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 1 << 20  # not from the start


def test_a_server_that_ignores_ranges_starts_the_download_again(
        served: ImageServer, tmp_path: Path) -> None:
    served.state.drop_after = 1 << 20
    served.state.honour_range = False
    path = fill(ImageCache(tmp_path / "cache"), f"{served.url}/disk.img", sha256(CONTENT),
                tmp_path)
    assert path.read_bytes() == CONTENT  # nothing appended twice


def test_content_that_is_not_the_checksum_is_named_and_nothing_is_kept(
        served: ImageServer, tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "cache")
    wanted = Checksum("sha256", "0" * 64)
    with pytest.raises(ProviderError) as caught:
        fill(cache, f"{served.url}/disk.img", wanted, tmp_path)
    message = caught.value.message
    assert f"sha256:{sha256(CONTENT).hex}" in message and f"sha256:{'0' * 64}" in message
    assert not [p for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")]


def test_http_errors_name_the_url_without_its_credentials(
        served: ImageServer, tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "cache")
    secret_url = served.url.replace("http://", "http://user:hunter2@") + "/gone.img?token=s3"
    with pytest.raises(ProviderError, match="HTTP 404") as caught:
        fill(cache, secret_url, sha256(CONTENT), tmp_path)
    assert "hunter2" not in str(caught.value) and "s3" not in str(caught.value)
    assert served.state.authorizations == ["Basic dXNlcjpodW50ZXIy"]  # user:hunter2
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(ProviderError, match="cannot reach"):
            fill(cache, f"http://127.0.0.1:{port}/x.img", sha256(CONTENT), tmp_path)


def _image(url: str, **spec: object) -> Resource:
    settings = {"url": url, "checksum_url": spec.pop("checksum_url", None)}
    full = {"checksum": None, "format": None, "pool": None, "options": {}} | spec
    return Resource(Address(Kind.IMAGE, "deb@kvm"), "kvm", full, settings=settings)


def test_a_plan_learns_size_format_and_checksum_with_one_small_read(
        served: ImageServer, tmp_path: Path) -> None:
    sums = f"{sha256(CONTENT).hex}  disk.img\n{'1' * 64}  other.img\n"
    (served.state.root / "SHA256SUMS").write_text(sums)
    cache = ImageCache(tmp_path / "cache")
    image = _image(f"{served.url}/disk.img", checksum_url=f"{served.url}/SHA256SUMS")
    [resolved], problems = with_sources([image], tmp_path, cache)
    assert problems == []
    assert resolved.spec["checksum"] == str(sha256(CONTENT))
    assert resolved.spec["format"] == "raw"
    assert resolved.settings["size"] == len(CONTENT)
    assert resolved.settings["cached"] is False
    assert served.gets("disk.img") == ["bytes=0-65535"]  # 64 KiB, not 3 MiB
    fill(cache, f"{served.url}/disk.img", sha256(CONTENT), tmp_path)
    [again], _ = with_sources([_image(f"{served.url}/disk.img", checksum=str(sha256(CONTENT)))],
                              tmp_path, cache)
    assert again.settings["cached"] is True
    assert len(served.gets("disk.img")) == 2  # the fill; the cached plan read nothing


def test_what_a_plan_cannot_read_is_a_problem_at_the_field(
        served: ImageServer, tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "cache")
    missing = _image(f"{served.url}/gone.img", checksum=str(sha256(CONTENT)))
    declared = _image(f"{served.url}/disk.img", checksum=str(sha256(CONTENT)), format="qcow2")
    sums = _image(f"{served.url}/disk.img", checksum_url=f"{served.url}/NOSUMS")
    _, problems = with_sources([missing], tmp_path, cache)
    assert [(p.path, p.summary) for p in problems] == [
        ("url", f"{served.url}/gone.img: HTTP 404 Not Found")]
    _, problems = with_sources([declared], tmp_path, cache)
    assert [(p.path, p.summary) for p in problems] == [
        ("format", "is qcow2, but the file is raw")]
    _, problems = with_sources([sums], tmp_path, cache)
    assert [p.path for p in problems] == ["checksum_url"]


def test_a_local_image_without_a_checksum_is_hashed_once(tmp_path: Path) -> None:
    (tmp_path / "disk.img").write_bytes(CONTENT)
    cache = ImageCache(tmp_path / "cache")
    [first], problems = with_sources([_image("disk.img")], tmp_path, cache)
    assert problems == [] and first.spec["checksum"] == str(sha256(CONTENT))
    memo = tmp_path / "cache" / "local-digests.json"
    assert memo.is_file()
    memo.write_text(memo.read_text().replace(sha256(CONTENT).hex, "e" * 64))
    [second], _ = with_sources([_image("disk.img")], tmp_path, cache)
    assert second.spec["checksum"] == "sha256:" + "e" * 64  # read from the memo
    os.utime(tmp_path / "disk.img", ns=(1, 1))  # another file now: hashed again
    [third], _ = with_sources([_image("disk.img")], tmp_path, cache)
    assert third.spec["checksum"] == str(sha256(CONTENT))
