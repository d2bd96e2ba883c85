"""The real daemon plus one test command that misbehaves in every way a service could:
print(), raw writes to fd 1, a child process writing to its stdout, logging from the loop
and from a worker thread, and finally raising."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

from expenv.lsp import serve
from expenv.lsp.server import create_server as real_create_server


def create_server():
    server = real_create_server()

    @server.command("test.noise")
    def noise(ls, *args):
        print("stray print to stdout")
        sys.stdout.write("stray sys.stdout write\n")
        sys.__stdout__.write("stray sys.__stdout__ write\n")
        sys.__stdout__.flush()
        os.write(1, b"raw write to fd 1\n")
        subprocess.run(["echo", "a child process writes to its stdout"], check=True)
        log = logging.getLogger("expenv.services.noise")
        log.warning("a service logs from the event loop")
        worker = threading.Thread(target=lambda: log.error("a service logs from a worker thread"))
        worker.start()
        worker.join()
        raise RuntimeError("a service raises")

    return server


if __name__ == "__main__":
    serve.create_server = create_server
    serve.serve_stdio("DEBUG")
