"""Run the daemon over stdio (default) or loopback TCP guarded by a token."""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
import logging
import os
import sys
from ipaddress import ip_address
from pathlib import Path
from threading import Event
from typing import BinaryIO

from expenv.lsp.logs import ClientLogHandler, configure_stderr_logging
from expenv.lsp.server import create_server
from expenv.lsp.transport import FrameReader, LoopWriter, read_frame, run_stdio

log = logging.getLogger(__name__)
AUTH_SECONDS = 5              # a TCP client that has not authenticated by then is dropped
AUTH_FRAME_BYTES = 1024 * 1024  # what an unauthenticated client can make the daemon read


def _protect_stdout() -> BinaryIO:
    """Keep fd 1 for protocol frames only.

    Returns a private handle on the real stdout, then points fd 1 (and `sys.stdout`) at stderr,
    so a stray print(), a C library or a child process inheriting fd 1 cannot corrupt the stream.
    """
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb", buffering=0)


# How long a thread holding the GIL may keep the event loop waiting (Python's default: 5 ms).
# Background work in the daemon (importing Feast for the repo checks, Dask for a cluster launch)
# holds it in slices of that length: each step of the loop waited up to a slice, and a burst of
# hovers, hundreds of steps, took seconds while such work ran.
GIL_SLICE_SECONDS = 0.0005


def _favour_the_event_loop() -> None:
    sys.setswitchinterval(GIL_SLICE_SECONDS)


FREEZE_CHECK_SECONDS = 5.0


async def _freeze_after_full_collections() -> None:
    """What survived a full collection (the modules, classes and caches of Feast, MLflow...
    imported by then) is left out of the next ones (gc.freeze, at most FREEZE_CHECK_SECONDS
    later). Each full collection scanned the whole heap with the loop stopped, longer as imports
    grew it: up to 240 ms in the middle of a burst of hovers (bench/load.py). A frozen object is
    still freed when its last reference goes; only a reference cycle of objects that were alive at
    a full collection outlives its use. Checked from the loop, not from a gc callback: Python code
    run inside a collection lets another thread in, and CPython 3.11's AST conversion, caught
    between two threads that way, failed with "AST constructor recursion depth mismatch" (a
    registry load beside the definitions index)."""
    seen = gc.get_stats()[2]["collections"]
    while True:
        await asyncio.sleep(FREEZE_CHECK_SECONDS)
        collections = gc.get_stats()[2]["collections"]
        if collections != seen:
            seen = collections
            gc.freeze()


def serve_stdio(log_level: str = "INFO") -> None:
    configure_stderr_logging(log_level)
    _favour_the_event_loop()
    out = _protect_stdout()
    server = create_server()
    _install_client_log(server)
    run_stdio(server, sys.stdin.buffer, out)


def _install_client_log(server) -> None:
    """Add the client log handler as soon as the loop runs (it needs the loop for thread safety),
    and start the loop's own housekeeping (_freeze_after_full_collections)."""
    original = server.protocol.handle_message
    installed = False

    def handle_message(message):
        nonlocal installed
        if not installed:
            installed = True
            loop = asyncio.get_running_loop()
            logging.getLogger().addHandler(ClientLogHandler(server, loop))
            server.expenv_housekeeping = loop.create_task(_freeze_after_full_collections())
        return original(message)

    server.protocol.handle_message = handle_message


def check_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"refusing to listen on {host!r}: the daemon binds loopback only (127.0.0.1 or ::1)")


def write_token_file(path: Path, token: str) -> None:
    """Write the TCP token readable by its owner only. O_CREAT's mode applies to a new file only:
    an existing one is narrowed to 0600 before the token goes in, and a symlink planted at the
    path is refused (ELOOP) rather than followed."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)


def _frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def serve_tcp(host: str, port: int, token: str, log_level: str = "INFO") -> None:
    """Serve one client at a time on loopback. The first message must be `initialize`
    carrying `initializationOptions.token`; anything else is refused and the connection closed."""
    check_loopback(host)
    configure_stderr_logging(log_level)
    _favour_the_event_loop()
    _protect_stdout()
    server = create_server()
    _install_client_log(server)
    busy = asyncio.Lock()
    stop = Event()
    server._stop_event = stop

    async def refuse(writer: asyncio.StreamWriter, msg_id, text: str) -> None:
        writer.write(_frame({"jsonrpc": "2.0", "id": msg_id, "error": {"code": -32600, "message": text}}))
        await writer.drain()
        writer.close()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Authenticate before taking the session lock, so refused clients never hold it.
        try:
            body = await asyncio.wait_for(read_frame(reader, AUTH_FRAME_BYTES), AUTH_SECONDS)
            message = json.loads(body) if body else None
        except (ValueError, asyncio.TimeoutError):
            message = None
        if not isinstance(message, dict):
            await refuse(writer, None, "expenv: missing or wrong token")
            return
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        options = params.get("initializationOptions") if isinstance(params.get("initializationOptions"), dict) else {}
        given = options.get("token", "")
        if not (message.get("method") == "initialize" and isinstance(given, str)
                and hmac.compare_digest(given.encode(), token.encode())):
            log.warning("refused a TCP client without a valid token")
            await refuse(writer, message.get("id"), "expenv: missing or wrong token")
            return
        if busy.locked():
            await refuse(writer, message.get("id"), "expenv daemon already has a client")
            return
        async with busy:
            options.pop("token", None)  # never kept, never logged
            server.protocol.set_writer(LoopWriter(writer, asyncio.get_running_loop()))
            server.protocol.handle_message(json.loads(json.dumps(message), object_hook=server.protocol.structure_message))
            await FrameReader(server.protocol, stop).run(reader)
            writer.close()

    async def main() -> None:
        tcp = await asyncio.start_server(connection, host, port)
        addr = tcp.sockets[0].getsockname()
        log.info("expenv daemon listening on %s:%s (token required)", addr[0], addr[1])
        async with tcp:
            await tcp.serve_forever()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
