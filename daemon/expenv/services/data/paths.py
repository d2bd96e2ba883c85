"""Raw data roots, and where a name the user wrote really points (never outside a root).

A root is a workspace-relative or absolute folder, or an fsspec URL (`s3://bucket/prefix`), as in
`[data.raw] roots`. A name is workspace-relative (`data/raw/x.parquet`), absolute, or a URL. It is
normalised lexically first (so `..` cannot climb out), then, for local paths, its real path
(symlinks resolved) must lie inside a root's real path too. Backends open the checked location,
never the text the user wrote.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from expenv.domain.errors import DataError
from expenv.services.data.messages import shown

_COMPRESSION = (".gz", ".zst", ".zstd", ".bz2", ".xz")
FORMATS = {
    ".parquet": "parquet", ".pq": "parquet", ".parq": "parquet",
    ".csv": "csv", ".tsv": "csv",
    ".json": "json", ".ndjson": "json", ".jsonl": "json",
}
PROTOCOL_ALIASES = {"s3a": "s3", "s3n": "s3", "gcs": "gs", "abfss": "abfs"}
MAX_NAME = 4096
_ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c|00)", re.IGNORECASE)


def format_of(name: str) -> str | None:
    """The data format a file name says (parquet, csv, json), or None."""
    lower = name.lower()
    for suffix in _COMPRESSION:
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
            break
    return FORMATS.get(posixpath.splitext(lower)[1])


def has_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


def is_visible(name: str) -> bool:
    """Hidden files (`.x`) and engine markers (`_SUCCESS`, `_metadata`) are not data."""
    return not name.startswith((".", "_"))


def split_url(text: str) -> tuple[str, str] | None:
    """("s3", "bucket/key") for "s3://bucket/key", None for a plain path."""
    head, sep, rest = text.partition("://")
    if not sep or not head or not head.replace("+", "").replace("-", "").isalnum():
        return None
    return PROTOCOL_ALIASES.get(head.lower(), head.lower()), rest


def looks_like_path(text: str) -> bool:
    """Whether `text` is meant as a file or URL rather than a table name."""
    return ("://" in text or "/" in text or os.sep in text or text.startswith(("~", "."))
            or format_of(text) is not None)


@dataclass(frozen=True)
class RawRoot:
    """One configured root. Local: `path` is absolute (lexical) and `real` its real path.
    Remote: `protocol` is set and `path` is "bucket/prefix" (no slashes at either end)."""

    text: str
    path: str
    real: str
    protocol: str | None = None

    @property
    def is_remote(self) -> bool:
        return self.protocol is not None

    def contains(self, path: str, real: bool = False) -> bool:
        base = self.real if real else self.path
        sep = "/" if self.is_remote else os.sep
        return path == base or path.startswith(base.rstrip(sep) + sep) or (self.is_remote and base == "")

    def url(self, path: str) -> str:
        return f"{self.protocol}://{path}" if self.is_remote else path


@dataclass(frozen=True)
class RawLocation:
    """A checked place under a root: `path` is what backends open (local real path or bucket/key)."""

    root: RawRoot
    path: str
    name: str

    @property
    def url(self) -> str:
        return self.root.url(self.path)


class RawRoots:
    """The roots of one workspace, and the only way to turn a name into a `RawLocation`."""

    def __init__(self, workspace: Path, roots: tuple[str, ...] | list[str]):
        self.workspace = Path(workspace).resolve()
        self.roots = [self._root(text) for text in roots if text and text.strip()]

    def _root(self, text: str) -> RawRoot:
        url = split_url(text)
        if url is not None and url[0] != "file":
            protocol, rest = url
            path = posixpath.normpath("/" + rest).strip("/") if rest.strip("/") else ""
            return RawRoot(text, path, path, protocol)
        local = url[1] if url else text
        path = os.path.normpath(os.path.join(self.workspace, os.path.expanduser(local)))
        return RawRoot(text, path, os.path.realpath(path))

    @property
    def described(self) -> str:
        return ", ".join(r.text for r in self.roots) or "none configured in [data.raw] roots"

    def outside(self, name: str, why: str = "") -> DataError:
        return DataError(f"{shown(name)} is outside the raw data roots ({self.described}){why}")

    def locate(self, name: str) -> RawLocation:
        """Where `name` points, or DataError if that is outside every root."""
        if not name or len(name) > MAX_NAME or "\x00" in name or "\n" in name:
            raise DataError(f"{shown(name)} is not a path")
        if _ENCODED_SEPARATOR.search(name):
            # No layer below decodes them, but a name that needs them is hiding something: say so.
            raise DataError(f"{shown(name)}: percent-encoded '.', '/' or '\\' are not accepted in a dataset "
                            "path; write the path plainly")
        url = split_url(name)
        if url is not None and url[0] != "file":
            return self._locate_remote(name, *url)
        # A file:// URL is percent-encoded (RFC 8089); a plain path is taken as written.
        return self._locate_local(name, unquote(url[1]) if url else name)

    def _locate_remote(self, name: str, protocol: str, rest: str) -> RawLocation:
        if "?" in rest or "#" in rest:
            raise DataError(f"{shown(name)}: URLs with a query or fragment are not supported")
        path = posixpath.normpath("/" + rest).strip("/")
        for root in self.roots:
            if root.protocol == protocol and root.contains(path):
                return RawLocation(root, path, name)
        raise self.outside(name)

    def _locate_local(self, name: str, text: str) -> RawLocation:
        lexical = os.path.normpath(os.path.join(self.workspace, text))
        inside = [r for r in self.roots if not r.is_remote and r.contains(lexical)]
        if not inside:
            raise self.outside(name)
        real = os.path.realpath(lexical)
        owner = next((r for r in self.roots if not r.is_remote and r.contains(real, real=True)), None)
        if owner is None:
            raise self.outside(name, ": it is a symbolic link to a place outside them")
        return RawLocation(owner, real, name)

    def display(self, location: RawLocation, path: str | None = None) -> str:
        """How a user would type `path` (default: the location's): workspace-relative when it can be."""
        path = location.path if path is None else path
        return self.display_path(location.root, path)

    def display_path(self, root: RawRoot, path: str) -> str:
        if root.is_remote:
            return root.url(path)
        # Show the path under the root as configured (not its symlink-resolved real path).
        if path == root.real or path.startswith(root.real.rstrip(os.sep) + os.sep):
            path = root.path + path[len(root.real):]
        try:
            return Path(path).relative_to(self.workspace).as_posix()
        except ValueError:
            return path
