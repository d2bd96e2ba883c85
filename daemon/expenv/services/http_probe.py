"""Tiny HTTP probes over TCP or a unix socket, without importing an SDK (keeps status cheap)."""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._socket_path)


def http_get(url: str, timeout: float = 2.0, unix_socket: str | None = None) -> tuple[int, bytes]:
    """GET `url` (or its path on `unix_socket`); returns (status, body). Raises OSError on failure."""
    parts = urlsplit(url)
    if unix_socket:
        conn: http.client.HTTPConnection = _UnixHTTPConnection(unix_socket, timeout)
    elif parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout)
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, response.read(65536)
    except (http.client.HTTPException, ValueError) as exc:
        raise OSError(str(exc)) from exc
    finally:
        conn.close()
