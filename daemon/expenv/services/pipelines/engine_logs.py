"""A container's log, followed over the local engine's unix socket with the standard library
only: the driver process follows the step the submitter started before it imports anything
heavy (the docker SDK alone is ~0.2 s of CPU), see driver_entry."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path


def unix_socket() -> str | None:
    """The local engine's socket path (DOCKER_HOST unix://..., or the default), else None."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return host[len("unix://"):] if host.startswith("unix://") else None


def log_stream(socket_path: str, container: str):
    """A container's output from its start, followed (GET /containers/ID/logs?follow=1): the
    payloads of the engine's multiplexed frames (a step has no TTY), over plain HTTP/1.1 on the
    engine's unix socket. Raises when the engine refuses (no such container)."""
    from urllib.parse import quote

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(socket_path)
    sock.sendall(f"GET /containers/{quote(container)}/logs?follow=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                 "Host: docker\r\n\r\n".encode())
    body = sock.makefile("rb")
    status = body.readline()
    headers = []
    while (line := body.readline()) not in (b"\r\n", b"\n", b""):
        headers.append(line.decode("latin-1").strip().lower())
    if b" 200 " not in status:
        sock.close()
        raise OSError(f"the engine refused the log of {container}: {status.decode('latin-1').strip()}")
    sock.settimeout(None)   # a step may print nothing for hours
    return _frames(_chunks(body) if "transfer-encoding: chunked" in headers else iter(lambda: body.read1(65536), b""),
                   sock)


def _chunks(body):
    """The data of an HTTP/1.1 chunked body."""
    while True:
        size = int(body.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return
        data = body.read(size)
        yield data
        if len(data) < size:   # cut short: the engine went
            return
        body.readline()   # the chunk's CRLF


def _frames(data, sock):
    """The payloads of the engine's multiplexed stream: [stream, 0, 0, 0, size (4 bytes, big-endian)] payload."""
    buffer = b""
    try:
        for piece in data:
            buffer += piece
            while len(buffer) >= 8:
                size = int.from_bytes(buffer[4:8], "big")
                if len(buffer) < 8 + size:
                    break
                yield buffer[8:8 + size]
                buffer = buffer[8 + size:]
    finally:
        sock.close()


def follow(container: str, log_path: Path | str) -> threading.Thread | None:
    """A thread appending the container's output (from its start) to `log_path`; None when the
    engine is not a local socket or refuses (no such container)."""
    path = unix_socket()
    if not path:
        return None
    try:
        stream = log_stream(path, container)
    except OSError:   # no such container (any more): the caller starts or reports the step
        return None
    return copying(stream, Path(log_path))


def copying(stream, log_path: Path) -> threading.Thread:
    """A started thread writing the stream's chunks to `log_path` as they come."""
    def copy() -> None:
        with open(log_path, "ab") as out:
            try:
                for chunk in stream:
                    out.write(chunk)
                    out.flush()
            except Exception:  # noqa: BLE001 - the stream broke (engine gone): wait() says what happened
                pass

    thread = threading.Thread(target=copy, name="step-log", daemon=True)
    thread.start()
    return thread
