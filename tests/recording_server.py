"""An HTTP server on loopback that answers GETs with JSON and records what it was sent (the path
and the Authorization header): for clients whose requests a test must see."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def recording_server(answer: Callable[[str], dict]) -> Iterator[tuple[str, list[dict]]]:
    """(its base URL, the requests heard: {path, authorization}); each GET gets answer(path)."""
    heard: list[dict] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            heard.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            body = json.dumps(answer(self.path)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", heard
    finally:
        server.shutdown()
        server.server_close()
