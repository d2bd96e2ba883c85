"""Identical hovers and completions in flight share one answer (lsp/answers.py `SharedAnswers`),
but never across an edit: requests written in one go before and after a `didChange` (as an
editor with a burst of requests does) are each answered for the text they were sent about.
Written as raw bytes, so the order on the pipe is exactly the order here (the real `expenv serve`)."""

from __future__ import annotations

import json

from tests.conftest import DAEMON_CMD
from tests.hardening.framed_pipe import FramedPipe, encode

COPIES = 20
HOVER_BEFORE = 'df = pd.read_parquet("data/raw/customers.parquet")\n'
HOVER_AFTER = 'df = pd.read_parquet("data/raw/payments.csv")\n'
TYPED_BEFORE = 'path = "data/raw/c'
TYPED_AFTER = 'path = "data/raw/p'


def _answers_around_an_edit(root, name: str, method: str, before: str, after: str, position: dict) -> list[dict]:
    """COPIES requests on `before`, an edit to `after`, COPIES more: all written at once."""
    uri = (root / name).as_uri()
    pipe = FramedPipe(DAEMON_CMD, cwd=str(root))
    try:
        pipe.request("init", "initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                                            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}]})
        pipe.wait_responses(["init"], 60)
        pipe.notify("initialized", {})
        pipe.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                              "text": before}})
        params = {"textDocument": {"uri": uri}, "position": position}
        burst = b"".join(encode({"jsonrpc": "2.0", "id": f"before-{i}", "method": method, "params": params})
                         for i in range(COPIES))
        burst += encode({"jsonrpc": "2.0", "method": "textDocument/didChange",
                         "params": {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": after}]}})
        burst += b"".join(encode({"jsonrpc": "2.0", "id": f"after-{i}", "method": method, "params": params})
                          for i in range(COPIES))
        pipe.write(burst)
        ids = [f"{when}-{i}" for when in ("before", "after") for i in range(COPIES)]
        pipe.wait_responses(ids, 120)
        return [pipe.responses[i][0] for i in ids]
    finally:
        assert pipe.close() == 0, pipe.stderr_tail()


def test_identical_hovers_written_around_an_edit_answer_for_their_own_text(example_project):
    character = HOVER_BEFORE.index("data/raw/") + 11   # inside the literal in both texts
    answers = _answers_around_an_edit(example_project, "shared_hover.py", "textDocument/hover", HOVER_BEFORE,
                                      HOVER_AFTER, {"line": 0, "character": character})
    texts = [a["result"]["contents"]["value"] for a in answers]
    assert all("customers.parquet" in t and "| signup_date |" in t for t in texts[:COPIES]), json.dumps(answers[0])
    assert all("payments.csv" in t and "signup_date" not in t for t in texts[COPIES:]), json.dumps(answers[COPIES])


def test_identical_completions_written_around_an_edit_answer_for_their_own_text(example_project):
    answers = _answers_around_an_edit(example_project, "shared_completion.py", "textDocument/completion",
                                      TYPED_BEFORE, TYPED_AFTER, {"line": 0, "character": len(TYPED_BEFORE)})
    labels = [[item["label"] for item in a["result"]["items"]] for a in answers]
    # Completion reads the text after its first backend hop: a request sent before the edit may be
    # answered for the edited text (never older than the request, as LSP servers answer); one sent
    # after it never for the text before.
    assert all(found in (["data/raw/customers.parquet"], ["data/raw/payments.csv"]) for found in labels[:COPIES])
    assert all(found == ["data/raw/payments.csv"] for found in labels[COPIES:]), json.dumps(answers[COPIES])
