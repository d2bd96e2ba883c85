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
