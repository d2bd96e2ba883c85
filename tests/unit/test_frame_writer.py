"""The daemon's frames never interleave on its stdout pipe (lsp/transport.py `FrameWriter`).

Found by bench/load.py: a batch of answers (hundreds of KB, written from the loop) and a progress
notification written by a launch's worker thread went to the unbuffered pipe at once while the
client was slow to read; a write of more than PIPE_BUF bytes is not atomic, the client read a
frame cut by another, stopped reading, and the daemon blocked on the full pipe."""

from __future__ import annotations

import os
import threading
import time
from itertools import groupby

from expenv.lsp.transport import FrameWriter


def test_frames_written_by_many_threads_to_a_slow_pipe_arrive_whole():
    read_end, write_end = os.pipe()
    out = os.fdopen(write_end, "wb", buffering=0)   # what `expenv serve` writes frames to
    writer = FrameWriter(out)
    frames = [bytes([65 + t]) * (200_000 if t % 2 else 3_000) for t in range(8)]   # 'A'*3000, 'B'*200000, ...
    received = bytearray()

    def slow_reader() -> None:
        while chunk := os.read(read_end, 4096):
            received.extend(chunk)
            time.sleep(0.0005)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    writers = [threading.Thread(target=lambda f=f: [writer.write(f) for _ in range(3)]) for f in frames]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    writer.close()
    reader.join()
    # each frame is a run of one letter: runs in the order they arrived must be whole frames
    runs = [(letter, len(list(run))) for letter, run in groupby(received)]
    # adjacent whole frames of the same letter merge into one run: lengths are multiples of a frame
    sizes = {f[0]: len(f) for f in frames}
    assert all(length % sizes[letter] == 0 for letter, length in runs), runs[:20]
    assert len(received) == 3 * sum(len(f) for f in frames)


def test_tcp_frames_written_by_many_threads_arrive_whole_and_only_the_loop_writes_the_socket():
    """The TCP transport (lsp/transport.py `LoopWriter`): asyncio's StreamWriter is not thread-safe,
    so frames that worker threads send reach the socket through the loop, each whole."""
    import asyncio
    import socket

    from expenv.lsp.transport import LoopWriter

    frames = [bytes([65 + t]) * (200_000 if t % 2 else 3_000) for t in range(8)]
    writing_threads: set[int] = set()

    class Spy:   # the StreamWriter, noting which thread writes to it
        def __init__(self, writer):
            self.writer = writer

        def write(self, data):
            writing_threads.add(threading.get_ident())
            self.writer.write(data)

        def close(self):
            self.writer.close()

    received = bytearray()

    async def main() -> None:
        done = asyncio.Event()

        async def connection(reader, stream_writer):
            writer = LoopWriter(Spy(stream_writer), asyncio.get_running_loop())
            threads = [threading.Thread(target=lambda f=f: [writer.write(f) for _ in range(3)]) for f in frames]
            for t in threads:
                t.start()
            for _ in range(3):   # the loop writes too, as it does for answers
                writer.write(frames[0])
                await asyncio.sleep(0)
            await asyncio.get_running_loop().run_in_executor(None, lambda: [t.join() for t in threads])
            await stream_writer.drain()
            writer.close()
            done.set()

        server = await asyncio.start_server(connection, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        def slow_client() -> None:
            with socket.create_connection(("127.0.0.1", port)) as client:
                while chunk := client.recv(16384):   # slower than the writers: the transport buffers
                    received.extend(chunk)
                    time.sleep(0.001)

        client = threading.Thread(target=slow_client)
        client.start()
        await done.wait()
        await asyncio.get_running_loop().run_in_executor(None, client.join)
        server.close()
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert writing_threads == {loop_thread}
    runs = [(letter, len(list(run))) for letter, run in groupby(received)]
    sizes = {f[0]: len(f) for f in frames}
    assert all(length % sizes[letter] == 0 for letter, length in runs), runs[:20]
    assert len(received) == 3 * sum(len(f) for f in frames) + 3 * len(frames[0])


def test_a_client_slow_to_read_does_not_hold_the_sender_and_a_stopped_one_bounds_the_memory():
    """A frame bigger than the pipe's buffer is handed over at once (the loop goes on reading
    requests); past MAX_PENDING bytes waiting, a sender waits; once the client reads, all arrive."""
    read_end, write_end = os.pipe()
    writer = FrameWriter(os.fdopen(write_end, "wb", buffering=0))
    writer.MAX_PENDING = 3_000_000
    sent = threading.Event()
    threading.Thread(target=lambda: (writer.write(b"a" * 1_000_000), sent.set()), daemon=True).start()
    assert sent.wait(10), "the sender waited on a pipe nobody reads"
    for _ in range(3):
        writer.write(b"b" * 1_000_000)   # 4 MB sent: the writer thread holds one in the pipe's write
    held = threading.Event()
    threading.Thread(target=lambda: (writer.write(b"c" * 10), held.set()), daemon=True).start()
    assert not held.wait(1), "past MAX_PENDING the sender should wait for the client"
    received = bytearray()
    reader = threading.Thread(target=lambda: [received.extend(c) for c in iter(lambda: os.read(read_end, 65536), b"")])
    reader.start()
    assert held.wait(10)
    writer.close()
    reader.join()
    assert received == b"a" * 1_000_000 + b"b" * 3_000_000 + b"c" * 10
