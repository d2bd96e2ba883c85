"""Files under a raw root: the local disk, or an fsspec filesystem (s3fs for `s3://`).

Both answer the same few questions (stat, list a folder, every file under a folder, open), so the
dataset logic in raw.py does not care where the bytes are. Remote answers are kept a few seconds:
a hover must not cost a round trip each time.
"""

from __future__ import annotations

import os
import stat as _stat
from dataclasses import dataclass
from typing import Any

from expenv.domain.errors import DataError
from expenv.domain.secrets import redact
from expenv.services.data.cache import LruCache
from expenv.services.data.messages import engine_message
from expenv.services.data.paths import format_of, is_visible

REMOTE_TTL = 5.0
DOWN_TTL = 10.0
MAX_FILES = 100_000


@dataclass(frozen=True)
class Entry:
    name: str
    path: str
    is_dir: bool
    size: int = 0
    version: Any = None  # mtime_ns locally, ETag or LastModified remotely


class LocalStorage:
    """The local disk. `inside` holds the roots' real paths: a symbolic link leading out of them is
    treated as absent, so listings and dataset folders never reach outside the roots."""

    remote = False
    sep = os.sep

    def __init__(self, inside: list[str] | None = None):
        self.inside = [p.rstrip(os.sep) + os.sep for p in (inside or [])]

    def _escapes(self, path: str) -> bool:
        real = os.path.realpath(path)
        return bool(self.inside) and not any((real + os.sep).startswith(p) for p in self.inside)

    def stat(self, path: str) -> Entry | None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
        return Entry(os.path.basename(path), path, _stat.S_ISDIR(st.st_mode), st.st_size, st.st_mtime_ns)

    def listdir(self, path: str) -> list[Entry]:
        out = []
        try:
            with os.scandir(path) as it:
                for e in it:
                    if not is_visible(e.name) or (e.is_symlink() and self._escapes(e.path)):
                        continue
                    try:
                        st = e.stat()
                    except OSError:
                        continue  # a dangling link is not data
                    out.append(Entry(e.name, e.path, _stat.S_ISDIR(st.st_mode), st.st_size, st.st_mtime_ns))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise DataError(f"cannot list {path}: {exc.strerror or exc}") from None
        return sorted(out, key=lambda e: e.name)

    def files_under(self, path: str) -> list[Entry]:
        out: list[Entry] = []
        for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if is_visible(d))
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                if is_visible(name) and format_of(name) and not (os.path.islink(full) and self._escapes(full)):
                    try:
                        st = os.stat(full)
                    except OSError:
                        continue
                    out.append(Entry(name, full, False, st.st_size, st.st_mtime_ns))
                    if len(out) >= MAX_FILES:
                        return out
        return out

    def glob(self, pattern: str) -> list[Entry]:
        """Files matching `pattern`. Python's glob follows symbolic links to folders, so every match
        is checked by its real path (a file under a link leading out of the roots is not data), and
        a file reached twice (a link back up the tree) counts once."""
        import glob

        out, seen = [], set()
        for path in sorted(glob.glob(pattern, recursive=True)):
            real = os.path.realpath(path)
            if real in seen or self._escapes(path):
                continue
            seen.add(real)
            entry = self.stat(path)
            if entry is not None and not entry.is_dir and is_visible(entry.name):
                out.append(entry)
            if len(out) >= MAX_FILES:
                break
        return out

    def open(self, path: str):
        return open(path, "rb")

    def arrow_filesystem(self):
        return None

    def engine_path(self, path: str) -> str:
        return path


class RemoteStorage:
    """An fsspec filesystem with short timeouts and few retries, so an unreachable endpoint fails fast."""

    remote = True
    sep = "/"

    def __init__(self, protocol: str, storage_options: dict[str, Any]):
        self.protocol = protocol
        self.options = dict(storage_options or {})
        self._fs = None
        self._cache = LruCache(size=4096, ttl=REMOTE_TTL)
        self._down = LruCache(size=1, ttl=DOWN_TTL)

    @property
    def fs(self):
        if self._fs is None:
            import fsspec

            options = dict(self.options)
            if self.protocol == "s3":
                options.setdefault("use_listings_cache", False)  # our own short-lived cache decides freshness
                config = {"connect_timeout": 3, "read_timeout": 20, "retries": {"max_attempts": 1, "mode": "standard"}}
                config.update(options.pop("config_kwargs", {}) or {})
                options["config_kwargs"] = config
            try:
                fs = fsspec.filesystem(self.protocol, skip_instance_cache=True, **options)
            except ImportError as exc:
                raise DataError(f"{self.protocol}:// roots need a package that is not installed ({exc.name}); "
                                "install expenv with the engines extra") from None
            except (TypeError, ValueError) as exc:
                raise DataError(f"[data.raw] storage_options do not suit {self.protocol}://: {engine_message(exc)}") \
                    from None
            if hasattr(fs, "retries"):
                fs.retries = 1  # s3fs retries each call 5 times by default: minutes on a dead endpoint
            self._fs = fs
        return self._fs

    def _call(self, what: str, path: str, fn, *args, **kwargs):
        endpoint = self.options.get("endpoint_url") or (self.options.get("client_kwargs") or {}).get("endpoint_url")
        where = f" (endpoint {redact(endpoint)})" if endpoint else ""
        down = self._down.get("cause")
        if down is not None:  # it failed to connect moments ago: say so at once instead of waiting again
            raise DataError(f"cannot {what} {self.protocol}://{path}{where}: {down}")
        try:
            return fn(*args, **kwargs)
        except FileNotFoundError:
            raise
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - botocore/aiohttp raise many kinds; all mean "cannot reach"
            cause = engine_message(exc)
            if _is_connection_error(exc):
                self._down.put("cause", cause)
            raise DataError(f"cannot {what} {self.protocol}://{path}{where}: {cause}") from None

    def _info(self, path: str) -> dict | None:
        def load():
            try:
                return self._call("read", path, self.fs.info, path)
            except FileNotFoundError:
                return None
        return self._cache.get_or_compute(("info", path), load)

    def stat(self, path: str) -> Entry | None:
        info = self._info(path)
        return None if info is None else self._entry(info)

    def _entry(self, info: dict) -> Entry:
        name = info["name"].rstrip("/")
        version = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime")
        return Entry(name.rsplit("/", 1)[-1], name, info.get("type") == "directory", int(info.get("size") or 0),
                     str(version) if version is not None else None)

    def listdir(self, path: str) -> list[Entry]:
        def load():
            try:
                infos = self._call("list", path, self.fs.ls, path, detail=True)
            except FileNotFoundError:
                return []
            entries = [self._entry(i) for i in infos]
            return sorted((e for e in entries if is_visible(e.name) and e.path != path.rstrip("/")),
                          key=lambda e: e.name)
        return self._cache.get_or_compute(("ls", path), load)

    def files_under(self, path: str) -> list[Entry]:
        def load():
            try:
                infos = self._call("list", path, self.fs.find, path, detail=True)
            except FileNotFoundError:
                return []
            out = []
            for info in sorted(infos.values(), key=lambda i: i["name"]):
                entry = self._entry(info)
                rel = entry.path[len(path.rstrip("/")) + 1:]
                if not entry.is_dir and format_of(entry.name) and all(is_visible(p) for p in rel.split("/")):
                    out.append(entry)
            return out[:MAX_FILES]
        return self._cache.get_or_compute(("find", path), load)

    def glob(self, pattern: str) -> list[Entry]:
        def load():
            infos = self._call("list", pattern, self.fs.glob, pattern, detail=True)
            entries = [self._entry(i) for i in sorted(infos.values(), key=lambda i: i["name"])]
            return [e for e in entries if not e.is_dir and is_visible(e.name)][:MAX_FILES]
        return self._cache.get_or_compute(("glob", pattern), load)

    def open(self, path: str):
        return self._call("open", path, self.fs.open, path, "rb")

    def arrow_filesystem(self):
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        return PyFileSystem(FSSpecHandler(self.fs))

    def engine_path(self, path: str) -> str:
        return f"{self.protocol}://{path}"


def _is_connection_error(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionError", "ConnectionRefusedError",
                         "ClientConnectorError", "ServerTimeoutError", "TimeoutError"})
