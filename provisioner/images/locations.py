"""Where an image's URL points: a remote URL or a local file, and the forms of it that
messages may show. Pure (``urllib.parse`` only): reading a stack needs these without
the HTTP client that ``transfer`` brings."""

from __future__ import annotations

import urllib.parse
from pathlib import Path


def is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def shown_url(url: str) -> str:
    """The URL without credentials or query: what messages may show."""
    if not is_remote(url):
        return url
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def file_name(url: str) -> str:
    """The last part of the URL's path (what a SUMS file lists)."""
    path = urllib.parse.urlsplit(url).path if "://" in url else url
    return path.rstrip("/").rsplit("/", 1)[-1]


def local_path(url: str, root: Path) -> Path | None:
    """The file a ``file://`` URL or a path names (relative to ``root``); None for http(s)."""
    if is_remote(url):
        return None
    if url.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    path = Path(url).expanduser()
    return path if path.is_absolute() else root / path
