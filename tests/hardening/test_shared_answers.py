"""Identical hovers and completions in flight share one answer (lsp/answers.py `SharedAnswers`),
but never across an edit: requests written in one go before and after a `didChange` (as an
editor with a burst of requests does) are each answered for the text they were sent about.
Written as raw bytes, so the order on the pipe is exactly the order here (the real `expenv serve`)."""

from __future__ import annotations

import json

from tests.conftest import DAEMON_CMD
from tests.hardening.framed_pipe import FramedPipe, encode

COPIES = 20
HOVER_BEFORE = 'df = pd.read_csv("data/raw/customers.csv")\n'
HOVER_AFTER = 'df = pd.read_csv("data/raw/payments.csv")\n'
TYPED_BEFORE = 'path = "data/raw/c'
TYPED_AFTER = 'path = "data/raw/p'


def _workspace(root):
    """Two small raw datasets, and no feature repo (whose check imports Feast: seconds of CPU)."""
    (root / "data" / "raw").mkdir(parents=True)
    (root / "expenv.toml").write_text('[project]\nname = "shared"\n\n[data.raw]\nroots = ["data/raw"]\n')
    (root / "data" / "raw" / "customers.csv").write_text("customer_id,signup_date\n1,2024-01-31\n")
    (root / "data" / "raw" / "payments.csv").write_text("customer_id,amount\n1,9.5\n")
    return root


def _started(root, uri: str, text: str) -> FramedPipe:
    pipe = FramedPipe(DAEMON_CMD, cwd=str(root))
    pipe.request("init", "initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                                        "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}]})
    pipe.wait_responses(["init"], 60)
    pipe.notify("initialized", {})
    pipe.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                          "text": text}})
    return pipe


def _answers_around_an_edit(root, name: str, method: str, before: str, after: str, position: dict) -> list[dict]:
    """COPIES requests on `before`, an edit to `after`, COPIES more: all written at once."""
    uri = (root / name).as_uri()
    pipe = _started(root, uri, before)
    try:
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


def test_identical_hovers_written_around_an_edit_answer_for_their_own_text(tmp_path):
    character = HOVER_BEFORE.index("data/raw/") + 11   # inside the literal in both texts
    answers = _answers_around_an_edit(_workspace(tmp_path), "shared_hover.py", "textDocument/hover", HOVER_BEFORE,
                                      HOVER_AFTER, {"line": 0, "character": character})
    texts = [a["result"]["contents"]["value"] for a in answers]
    assert all("customers.csv" in t and "| signup_date |" in t for t in texts[:COPIES]), json.dumps(answers[0])
    assert all("payments.csv" in t and "| amount |" in t for t in texts[COPIES:]), json.dumps(answers[COPIES])


def test_identical_completions_written_around_an_edit_answer_for_their_own_text(tmp_path):
    answers = _answers_around_an_edit(_workspace(tmp_path), "shared_completion.py", "textDocument/completion",
                                      TYPED_BEFORE, TYPED_AFTER, {"line": 0, "character": len(TYPED_BEFORE)})
    labels = [[item["label"] for item in a["result"]["items"]] for a in answers]
    # Each request reads the text as it was when the daemon read the request (client_units.REQUESTED_TEXT),
    # though the burst is handed over at once and the edit is applied before their handlers run.
    assert all(found == ["data/raw/customers.csv"] for found in labels[:COPIES]), json.dumps(answers[0])
    assert all(found == ["data/raw/payments.csv"] for found in labels[COPIES:]), json.dumps(answers[COPIES])


def test_a_burst_of_identical_hovers_gets_one_answer_each_and_a_cancelled_one_is_cancelled(tmp_path):
    """The requests that follow an identical one in flight are answered where the frame is read
    (answers.SharedRequests): each still gets exactly one response, under its own id; one
    cancelled while it waits gets RequestCancelled and nothing else, and cancelling the leader
    leaves the others answered. One write under PIPE_BUF: the daemon reads it all together."""
    root = _workspace(tmp_path)
    uri = (root / "burst.py").as_uri()
    pipe = _started(root, uri, HOVER_BEFORE)
    try:
        params = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": HOVER_BEFORE.index("data/") + 3}}
        burst = b"".join(encode({"jsonrpc": "2.0", "id": i, "method": "textDocument/hover", "params": params})
                         for i in range(COPIES // 2))
        burst += encode({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": COPIES // 2 - 1}})
        burst += encode({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 0}})   # the leader
        assert len(burst) < 4096
        pipe.write(burst)
        pipe.wait_responses(list(range(COPIES // 2)), 120)
        answers = [pipe.responses[i] for i in range(COPIES // 2)]
    finally:
        assert pipe.close() == 0, pipe.stderr_tail()
    assert all(len(a) == 1 for a in answers), answers
    assert answers[-1][0]["error"]["code"] == -32800, answers[-1]
    # The leader, cancelled, ends with RequestCancelled (or its result, if it was done): the
    # others are then handled on their own, and answered all the same.
    assert answers[0][0].get("error", {"code": -32800})["code"] == -32800, answers[0]
    results = [a[0]["result"] for a in answers[1:-1]]
    assert "customers.csv" in results[0]["contents"]["value"] and all(r == results[0] for r in results)


def test_identical_requests_with_bad_params_are_each_refused_under_their_own_id(tmp_path):
    """A leader that ends in an error does not pass it on: each follower is handled on its own."""
    root = _workspace(tmp_path)
    uri = (root / "bad.py").as_uri()
    pipe = _started(root, uri, HOVER_BEFORE)
    try:
        params = {"textDocument": {"uri": uri}, "position": {"line": "first", "character": 0}}
        pipe.write(b"".join(encode({"jsonrpc": "2.0", "id": f"bad-{i}", "method": "textDocument/completion",
                                    "params": params}) for i in range(COPIES)))
        ids = [f"bad-{i}" for i in range(COPIES)]
        pipe.wait_responses(ids, 120)
        answers = [pipe.responses[i] for i in ids]
    finally:
        assert pipe.close() == 0, pipe.stderr_tail()
    assert all(len(a) == 1 and a[0]["id"] == i for a, i in zip(answers, ids)), answers
    assert all(a[0]["error"]["code"] == -32602 and "position.line" in a[0]["error"]["message"] for a in answers), \
        answers[0]
