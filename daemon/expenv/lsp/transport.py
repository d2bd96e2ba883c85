"""Reading JSON-RPC frames from a client that may be broken, hostile or fuzzing.

pygls' own loop (pygls.io_.run_async) answers nothing to a frame it cannot read: a request with
a wrong parameter type, a body that is not JSON or not UTF-8, a batch, an unknown `jsonrpc`
version or a request after `shutdown` got no response at all, so the client waited forever; and a
wrong `Content-Length` made it skip every following frame. This loop answers each of them with the
JSON-RPC error the spec names (-32700, -32600, -32602 naming the field) and finds the next frame
again. Well-formed messages go to pygls' `handle_message` exactly as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from typing import Any

from cattrs import ClassValidationError, transform_error
from lsprotocol import types

from expenv.lsp.answers import SHAREABLE_METHODS, SharedRequests

log = logging.getLogger(__name__)

# `search`, not `match`: after a frame whose Content-Length was too short, what is left of its body
# runs into the next frame's header line; the header at the end of that line is still found.
_CONTENT_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?\n$", re.IGNORECASE)
MAX_FRAME_BYTES = 256 * 1024 * 1024   # an editor's biggest document is far smaller; more is an error
PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32602, -32603
REQUEST_CANCELLED = -32800
YIELD_EVERY = 64   # requests handed over from buffered frames before the loop runs their tasks
_SNAKE = re.compile(r"_([a-z])")


async def read_frame(reader, max_bytes: int = MAX_FRAME_BYTES) -> bytes | None:
    """The next frame's body (None at end of input). Lines that are not a header of a frame
    (garbage, the rest of a frame that announced too few bytes) are skipped."""
    length = None
    while True:
        try:
            line = await reader.readline()
        except ValueError:   # asyncio's line limit: a long run of garbage, already dropped
            continue
        if not line:
            return None
        if line.strip() == b"":
            if length is not None:
                break
            continue
        if (found := _CONTENT_LENGTH.search(line)) is not None:
            length = int(found.group(1))
            if length > max_bytes:
                log.warning("skipped a frame announcing %d bytes (limit %d)", length, max_bytes)
                length = None
        elif length is None:
            log.warning("skipped %d bytes that are not a frame header", len(line))
    try:
        return await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError:
        return None


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SPACE = re.compile(r"\s*")


def top_level_id(text: str) -> int | str | None:
    """The `id` member of the outermost object of valid JSON that is too deep for the parser, so
    that the refusal still answers the request that sent it."""
    depth, i = 0, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            key = _STRING.match(text, i)
            if key is None:
                return None
            i = _SPACE.match(text, key.end()).end()
            if depth == 1 and key.group() == '"id"' and text.startswith(":", i):
                start = _SPACE.match(text, i + 1).end()
                try:
                    value, _ = json.JSONDecoder().raw_decode(text, start)
                except ValueError:
                    return None
                return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None
            continue
        depth += 1 if ch in "{[" else -1 if ch in "}]" else 0
        i += 1
    return None


def _field_path(problem: str) -> str:
    """cattrs' `... @ $.params.text_document.uri` with the protocol's own names (`textDocument`)."""
    message, _, path = problem.rpartition(" @ ")
    return f"{_SNAKE.sub(lambda m: m.group(1).upper(), path)}: {message}" if message else problem


def invalid_params_message(exc: BaseException) -> str:
    if isinstance(exc, ClassValidationError):
        problems = [_field_path(p) for p in transform_error(exc, path="$")]
        return "Invalid params: " + "; ".join(problems[:5])
    return f"Invalid params: {type(exc).__name__}"


class FrameReader:
    """One client connection: read frames, answer the unreadable ones, hand the rest to pygls.
    A hover or completion identical to one in flight is answered with it (answers.SharedRequests)."""

    def __init__(self, protocol, stop_event: threading.Event):
        self.protocol = protocol
        self.stop_event = stop_event
        self.shared = None
        if hasattr(protocol, "shared_requests"):   # each connection its own (a TCP client may come back)
            self.shared = protocol.shared_requests = SharedRequests()

    def _error(self, msg_id: Any, code: int, message: str) -> None:
        self.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    async def run(self, reader) -> None:
        if self.shared is not None:   # a leader that failed gives its followers back (on the loop)
            loop = asyncio.get_running_loop()
            self.shared.redispatch = lambda message: loop.call_soon_threadsafe(self._redispatch, message)
        started = 0   # requests handed over since the loop last ran their tasks
        while not self.stop_event.is_set():
            body = await read_frame(reader)
            if body is None:
                return
            try:
                data = self.parse(body)
            except Exception:  # noqa: BLE001 - one message must never end the session
                log.exception("could not read a message")
                continue
            if data is None:
                continue
            # Frames already buffered are read without a pause: a burst of requests is handed over
            # at once (at most YIELD_EVERY without letting the loop run), so that identical ones
            # share an answer. Before a message that may change what a request reads (an edit, a
            # setting...), the requests handed over start; those naming a document read it as it
            # was when the request was read anyway (client_units.REQUESTED_TEXT).
            if started and ("id" not in data or "method" not in data or started >= YIELD_EVERY):
                started = 0
                await asyncio.sleep(0)
            try:
                self.dispatch_message(data)
            except Exception:  # noqa: BLE001 - one message must never end the session
                log.exception("could not handle a message")
            started += 1

    def parse(self, body: bytes) -> dict | None:
        """The frame's message, or None once an unreadable one is answered."""
        try:
            text = body.decode("utf-8")
            data = json.loads(text)
        except RecursionError:
            log.warning("refused a frame nested too deeply (%d bytes)", len(body))
            return self._error(top_level_id(text), INVALID_REQUEST, "Invalid request: JSON nested too deeply")
        except ValueError as exc:   # UnicodeDecodeError is a ValueError
            log.warning("unreadable frame (%s, %d bytes)", type(exc).__name__, len(body))
            return self._error(None, PARSE_ERROR, f"Parse error: the body is not UTF-8 JSON ({type(exc).__name__})")
        if not isinstance(data, dict):
            return self._error(None, INVALID_REQUEST, "Invalid request: a message is one JSON object "
                                                      "(batches are not part of LSP)")
        return data

    def _redispatch(self, data: dict) -> None:
        try:
            self.dispatch_message(data)
        except Exception:  # noqa: BLE001 - one message must never end the session
            log.exception("could not handle a message")

    def dispatch_message(self, data: dict) -> None:
        msg_id = data.get("id")
        has_id = "id" in data
        if has_id and not (isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool)):
            return self._error(None, INVALID_REQUEST, "Invalid request: id must be an integer or a string")
        method = data.get("method")
        if data.get("jsonrpc") != "2.0" or ("method" in data and not isinstance(method, str)) \
                or not ("method" in data or has_id):
            if has_id and "method" in data:
                self._error(msg_id, INVALID_REQUEST, 'Invalid request: expected {"jsonrpc": "2.0", '
                                                     '"method": <string>, ...}')
            else:
                log.warning("ignored a message that is neither a request, a notification nor a response")
            return None
        is_request = has_id and method is not None
        if is_request and self.protocol._shutdown and method != types.EXIT:
            return self._error(msg_id, INVALID_REQUEST, "Invalid request: the server is shutting down")
        if self.shared is not None and self._shared(data, msg_id, method, is_request):
            return None
        try:
            message = self.protocol.structure_message(data)
        except Exception as exc:  # noqa: BLE001 - pygls wraps cattrs' error in its own
            cause = exc.__cause__ or exc
            if is_request:
                return self._error(msg_id, INVALID_PARAMS, invalid_params_message(cause))
            log.warning("ignored %s with unreadable params: %s", method or "a response",
                        invalid_params_message(cause))
            return None
        try:
            self.protocol.handle_message(message)
        except Exception:
            log.exception("failed to handle %s", method)
            if is_request:
                self._error(msg_id, INTERNAL_ERROR, f"Internal error while handling {method}")


    def _shared(self, data: dict, msg_id: Any, method: str | None, is_request: bool) -> bool:
        """True when the message is dealt with here: a request that follows an identical one in
        flight, or the cancel of such a follower (answered RequestCancelled at once)."""
        if is_request:
            return method in SHAREABLE_METHODS and self.shared.follows(msg_id, method, data.get("params"), data)
        if method == types.CANCEL_REQUEST:
            params = data.get("params")
            cancelled = params.get("id") if isinstance(params, dict) else None
            if isinstance(cancelled, (int, str)) and not isinstance(cancelled, bool) and self.shared.cancel(cancelled):
                self._error(cancelled, REQUEST_CANCELLED, "Request Cancelled")
                return True
            return False
        self.shared.changed()   # an edit, a setting, a response to the server...: answers may differ now
        return False


async def serve_messages(server, reader) -> None:
    """Run the session of `server` over `reader` (its writer is already set)."""
    await FrameReader(server.protocol, server._stop_event).run(reader)


def exit_now(code: int) -> None:
    """Leave the process at once. asyncio.run and pygls would first wait for every worker thread
    still busy (a feature-repo check importing Feast: half a minute on a loaded machine), though
    nothing they produce can reach the client any more. Frames already sent are written first
    (a second at most: a client that stopped reading does not hold the exit)."""
    for writer in _WRITERS:
        writer.flush(1.0)
    logging.shutdown()
    os._exit(code)


async def _serve_until_input_ends(server, reader) -> None:
    await serve_messages(server, reader)
    # The editor closed the pipe (window closed, extension host gone) without `exit`: leave as on `exit`.
    exit_now(0)


STDIN_CHUNK = 64 * 1024


def stdin_stream(stdin, loop: asyncio.AbstractEventLoop) -> asyncio.StreamReader:
    """`stdin` as an asyncio stream, filled by one thread that reads whatever has arrived.
    pygls' reader hops to a worker thread for each header line and each body (three hops a
    message): a burst of 500 hovers spent more time handing the GIL between threads than
    answering. Here a chunk carries many frames, and the loop reads them without a hop."""
    reader = asyncio.StreamReader(limit=STDIN_CHUNK, loop=loop)
    read = getattr(stdin, "read1", stdin.read)

    def pump() -> None:
        while True:
            try:
                chunk = read(STDIN_CHUNK)
            except (OSError, ValueError):   # closed under us
                chunk = b""
            try:
                if not chunk:
                    loop.call_soon_threadsafe(reader.feed_eof)
                    return
                loop.call_soon_threadsafe(reader.feed_data, chunk)
            except RuntimeError:   # the loop is gone: the session ended
                return

    threading.Thread(target=pump, name="expenv-stdin", daemon=True).start()
    return reader


async def _serve_stdin(server, stdin) -> None:
    await _serve_until_input_ends(server, stdin_stream(stdin, asyncio.get_running_loop()))


class FrameWriter:
    """Frames to the client's pipe, each whole, in the order they were sent, written by a thread
    of their own. Answers and notifications are sent from the loop and from worker threads (a
    launch's progress, a log line): a write of more than PIPE_BUF bytes to a pipe is not atomic, so
    two threads' frames interleaved when the pipe was full (the client then read garbage and
    stopped); an unbuffered write may take only part of the bytes; and a client slow to read kept
    the loop itself waiting on the full pipe (a batch of a burst's shared answers blocked the
    reading of the requests behind it: bench/load.py). Up to MAX_PENDING bytes wait to be written;
    past that a sender waits, so a client that stopped reading cannot make the daemon hoard memory."""

    MAX_PENDING = 32 * 1024 * 1024

    def __init__(self, out) -> None:
        self._out = out
        self._frames: list[bytes] = []
        self._pending = 0
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="expenv-stdout", daemon=True)
        self._thread.start()
        _WRITERS.append(self)

    def write(self, data: bytes) -> None:
        with self._changed:
            while self._pending > self.MAX_PENDING and not self._closed:
                self._changed.wait()
            if self._closed:   # the client is gone (or the session ended): nothing reaches it
                return
            self._frames.append(bytes(data))
            self._pending += len(data)
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._frames and not self._closed:
                    self._changed.wait()
                if not self._frames:
                    return
                batch, self._frames = b"".join(self._frames), []
            try:
                view = memoryview(batch)
                while view:
                    written = self._out.write(view)
                    view = view[written if written is not None else 0:]
                self._out.flush()
            except (OSError, ValueError) as exc:   # the client closed its end: its reader sees EOF next
                log.error("the client stopped reading: %s", exc)
                with self._changed:
                    self._closed, self._frames, self._pending = True, [], 0
                    self._changed.notify_all()
                return
            with self._changed:
                self._pending -= len(batch)
                self._changed.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait (at most `timeout` seconds) until every frame sent so far is written."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0 or self._closed, timeout)

    def close(self) -> None:
        """Write what is pending, then close the pipe."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()
        self._out.close()


_WRITERS: list[FrameWriter] = []   # exit_now writes out what they hold first


class LoopWriter:
    """A TCP client's asyncio StreamWriter, written from any thread. Answers are sent from the
    loop, notifications also from worker threads (a launch's progress, a log line), and asyncio's
    transports are not thread-safe: a worker thread's write beside the loop's could interleave two
    frames or lose one (as FrameWriter's pipe did). A write from another thread is handed to the
    loop, and the loop writes every frame, each whole, in the order each thread sent them."""

    def __init__(self, writer, loop: asyncio.AbstractEventLoop) -> None:
        self._writer = writer
        self._loop = loop
        self._loop_thread = threading.get_ident()   # made on the loop, by the connection's task

    def _on_loop(self, call, *args) -> None:
        if threading.get_ident() == self._loop_thread:
            call(*args)
            return
        try:
            self._loop.call_soon_threadsafe(call, *args)
        except RuntimeError:   # the loop is closed: the session is over, nothing can reach the client
            log.debug("dropped a write after the connection's loop closed")

    def write(self, data: bytes) -> None:
        self._on_loop(self._writer.write, data)

    def close(self) -> None:
        self._on_loop(self._writer.close)


def run_stdio(server, stdin, stdout) -> None:
    """pygls' `start_io`, with this module's reader and writer."""
    server._stop_event = threading.Event()
    server.protocol.set_writer(FrameWriter(stdout))
    try:
        asyncio.run(_serve_stdin(server, stdin))
    except BrokenPipeError:
        log.error("the client closed the connection")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
