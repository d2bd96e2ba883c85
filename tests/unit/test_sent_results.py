"""The daemon's output redaction keeps the JSON of a result it sends many times (identical
requests in flight share one answer, lsp/answers.py): the same object sent again is the same JSON,
and once a new credential is known, the next send masks it."""

from __future__ import annotations

import json

from lsprotocol import types

from expenv.domain.secrets import MASK, remember
from expenv.lsp.server import create_server

CANARY = "canary-sent-results-7f3e9a"


class _Writer:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.frames.append(data)

    def messages(self) -> list[dict]:
        return [json.loads(frame.split(b"\r\n\r\n", 1)[1]) for frame in self.frames]


def test_a_result_sent_again_is_the_same_json_and_masks_a_secret_learned_meanwhile():
    server = create_server()
    writer = _Writer()
    server.protocol.set_writer(writer)
    hover = types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"key {CANARY}"),
                        range=types.Range(start=types.Position(line=1, character=2),
                                          end=types.Position(line=1, character=9)))
    server.protocol._send_response(1, result=hover)
    server.protocol._send_response("two", result=hover)
    remember({CANARY})
    server.protocol._send_response(3, result=hover)
    first, second, third = writer.messages()
    assert [m["id"] for m in (first, second, third)] == [1, "two", 3]
    assert first["result"] == second["result"] == {
        "contents": {"kind": "markdown", "value": f"key {CANARY}"},
        "range": {"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 9}}}
    assert third["result"]["contents"]["value"] == f"key {MASK}"
    assert all(m["jsonrpc"] == "2.0" and "error" not in m for m in (first, second, third))
