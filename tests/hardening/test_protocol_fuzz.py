"""Fuzzed protocol input against the real `expenv serve` process over its stdio pipes.

Each hypothesis example is a burst of generated traffic written in one go (requests drawn from
lsprotocol's params types, wrong parameter types, out-of-range positions, unopened documents,
interleaved edits, `$/cancelRequest`, unknown methods, malformed frames, huge documents, deeply
nested JSON). Then: the daemon is alive, every request got exactly one response, a result or a
proper JSON-RPC error without a traceback, and stdout carried nothing but frames.
"""

from __future__ import annotations

import itertools
import json
import re
import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import DAEMON_CMD
from tests.hardening.framed_pipe import FramedPipe, encode, frame
from tests.hardening.lsp_strategies import JSON_ANY, TEXT, Pool, params_class

EXAMPLES, MIN_MESSAGES = 120, 10_000
# Here the whole test takes under a minute. Past its budget (under pytest's 300 s timeout, which
# would hide why) it fails naming the slowest answers; one burst waits at most BURST_SECONDS.
BUDGET_SECONDS, BURST_SECONDS = 240, 120
# Requests the daemon serves, plus some it does not (they must get MethodNotFound).
REQUESTS = ["textDocument/hover", "textDocument/completion", "textDocument/codeAction", "textDocument/codeLens",
            "textDocument/definition", "textDocument/references", "textDocument/documentSymbol",
            "textDocument/signatureHelp", "textDocument/formatting", "workspace/symbol", "codeLens/resolve",
            "completionItem/resolve", "codeAction/resolve", "textDocument/diagnostic"]
NOTIFICATIONS = ["textDocument/didOpen", "textDocument/didChange", "textDocument/didClose", "textDocument/didSave",
                 "notebookDocument/didOpen", "notebookDocument/didChange", "notebookDocument/didClose",
                 "workspace/didChangeConfiguration", "$/setTrace", "window/workDoneProgress/cancel"]
# Commands whose work is reading (or refusing): random arguments must not launch anything real.
SAFE_COMMANDS = ["expenv.status", "expenv.data.list", "expenv.data.schema", "expenv.data.preview",
                 "expenv.data.profile", "expenv.clusters.list", "expenv.clusters.render", "expenv.pipelines.list",
                 "expenv.pipelines.status", "expenv.pipelines.logs", "expenv.pipelines.cancel",
                 "expenv.pipelines.render", "expenv.features.lineage", "expenv.no.such.command"]
NOT_STRING = st.one_of(st.integers(), st.booleans(), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.just(""), st.just("  "))
NOT_POSITIVE_INT = st.one_of(st.integers(max_value=0), st.text(max_size=3), st.booleans(), st.floats(0.5, 9.5))
# command -> (valid options before the bad field, bad field, its bad values); the field is checked
# before the command does any work, so none of these launches or submits anything.
BAD_ARGUMENTS = [
    ("expenv.data.schema", {}, "dataset", NOT_STRING),
    ("expenv.data.preview", {"dataset": "t.csv"}, "limit", st.one_of(st.integers(10_001), NOT_POSITIVE_INT)),
    ("expenv.data.preview", {"dataset": "t.csv"}, "sort", st.one_of(
        st.integers(), st.text(max_size=3), st.just({"column": ""}), st.just({"column": "a", "descending": "no"}))),
    ("expenv.clusters.launch", {}, "profile", NOT_STRING),
    ("expenv.clusters.attach", {}, "target", NOT_STRING),
    ("expenv.clusters.render", {}, "profile", NOT_STRING),
    ("expenv.pipelines.submit", {}, "pipeline", NOT_STRING),
    ("expenv.pipelines.submit", {"pipeline": "train"}, "target", NOT_STRING),
    ("expenv.pipelines.submit", {"pipeline": "train", "target": "dev"}, "params",
     st.one_of(st.lists(st.integers(), min_size=1), st.integers(1), st.text(min_size=1))),
    ("expenv.pipelines.rerun", {}, "run", NOT_STRING),
    ("expenv.pipelines.cancel", {}, "run", NOT_STRING),
    ("expenv.features.lineage", {}, "depth", st.one_of(st.integers(max_value=-1), st.text(max_size=3))),
    ("expenv.features.lineage", {}, "direction", st.text(max_size=5).filter(lambda d: d not in ("both", "up", "down"))),
    ("expenv.tracking.compare", {}, "run_ids", st.one_of(st.text(max_size=4), st.lists(st.integers(), min_size=1))),
    ("expenv.tracking.open", {}, "run_id", st.one_of(st.integers(), st.lists(st.text(max_size=3)))),
    ("expenv.tracking.runs", {}, "max_results", NOT_POSITIVE_INT),
    ("expenv.data.list", {}, "workspace", st.one_of(st.integers(), st.lists(st.text(max_size=3), min_size=1))),
    ("expenv.status", None, "arguments", st.one_of(st.integers(), st.text(), st.lists(st.integers(), min_size=1))),
]
ALLOWED_CODES = {-32700, -32600, -32601, -32602, -32603, -32800, -32801, -32803}
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
SOURCE = 'import pandas as pd\n\ndf = pd.read_csv("data/raw/t.csv")\nprint(df["a"])  # é😀\n'


class Burst:
    """What one example writes, and what it expects back."""

    def __init__(self, ids: itertools.count):
        self.ids = ids
        self.data = bytearray()
        self.messages = 0
        self.requests: list = []
        self.bad_arguments: dict = {}   # request id -> the field its error must name
        self.parse_errors = 0
        self.cancelled: set = set()
        self.sent: dict = {}   # request id -> (method, params) for the failure message

    def add(self, raw: bytes, messages: int = 1) -> None:
        self.data += raw
        self.messages += messages

    def request(self, method: str, params, msg_id=None):
        msg_id = next(self.ids) if msg_id is None else msg_id
        self.add(encode({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}))
        self.requests.append(msg_id)
        self.sent[msg_id] = (method, json.dumps(params)[:300])
        return msg_id

    def notify(self, method: str, params) -> None:
        self.add(encode({"jsonrpc": "2.0", "method": method, "params": params}))

    def cancel(self, msg_id) -> None:
        self.notify("$/cancelRequest", {"id": msg_id})
        self.cancelled.add(msg_id)


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz") / "ws"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "expenv.toml").write_text('[project]\nname = "fuzz"\n\n[data.raw]\nroots = ["data/raw"]\n')
    (root / "data" / "raw" / "t.csv").write_text("a,b\n1,x\n2,y\n")
    (root / "on_disk.py").write_text(SOURCE)
    open_uris = [(root / name).as_uri() for name in ("a.py", "b.py", "cell.py")]
    other = [(root / "on_disk.py").as_uri(), (root / "missing.py").as_uri(), (root / "data/raw/t.csv").as_uri(),
             "untitled:Untitled-1", f"vscode-notebook-cell:{root}/nb.ipynb#W0sZmlsZQ%3D%3D", "file:///", "",
             "file:///nonexistent/dir/x.py", "http://127.0.0.1:9/x.py"]
    pool = Pool(open_uris, other)
    state = {"pipe": None, "root": root, "pool": pool, "sent": 0, "ids": itertools.count(1000)}

    def daemon() -> FramedPipe:
        pipe = state["pipe"]
        if pipe is None or pipe.proc.poll() is not None:
            pipe = state["pipe"] = FramedPipe(DAEMON_CMD, cwd=str(root))
            pipe.request(1, "initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {
                "window": {"workDoneProgress": True}, "general": {"positionEncodings": ["utf-16"]}},
                "workspaceFolders": [{"uri": root.as_uri(), "name": "ws"}]})
            pipe.wait_responses([1], 60)
            pipe.notify("initialized", {})
            for uri in open_uris:
                pipe.notify("textDocument/didOpen", {"textDocument": {
                    "uri": uri, "languageId": "python", "version": 1, "text": SOURCE}})
        return pipe

    state["daemon"] = daemon
    yield state
    if state["pipe"] is not None:
        assert state["pipe"].close() == 0, state["pipe"].stderr_tail()


def actions(pool: Pool):
    """One step of traffic, as a function that adds its messages to a Burst."""
    schema_request = st.sampled_from(REQUESTS).flatmap(
        lambda m: pool.for_class(params_class(m)).map(lambda p: lambda b: b.request(m, p)))
    schema_notification = st.sampled_from(NOTIFICATIONS).flatmap(
        lambda m: pool.for_class(params_class(m)).map(lambda p: lambda b: b.notify(m, p)))
    edit = st.tuples(st.sampled_from(pool.open_uris), st.integers(0, 8), st.integers(0, 40), st.integers(0, 8),
                     st.integers(0, 40), TEXT, st.integers(2, 10**6)).map(
        lambda e: lambda b: b.notify("textDocument/didChange", {
            "textDocument": {"uri": e[0], "version": e[6]}, "contentChanges": [{
                "range": {"start": {"line": e[1], "character": e[2]}, "end": {"line": e[3], "character": e[4]}},
                "text": e[5]}]}))
    positioned = st.tuples(st.sampled_from(["textDocument/hover", "textDocument/completion"]),
                           st.sampled_from(pool.open_uris), st.integers(0, 6), st.integers(0, 45)).map(
        lambda r: lambda b: b.request(r[0], {"textDocument": {"uri": r[1]},
                                             "position": {"line": r[2], "character": r[3]}}))
    command = st.tuples(st.sampled_from(SAFE_COMMANDS), st.one_of(
        st.lists(st.dictionaries(st.sampled_from(["dataset", "layer", "limit", "run", "pipeline", "target",
                                                  "profile", "depth", "workspace", "follow", "all"]),
                                 JSON_ANY, max_size=3), max_size=1), st.lists(JSON_ANY, max_size=2), JSON_ANY)).map(
        lambda c: lambda b: b.request("workspace/executeCommand", {"command": c[0], "arguments": c[1]}))
    bad_argument = st.sampled_from(BAD_ARGUMENTS).flatmap(
        lambda case: case[3].map(lambda bad: lambda b: b.bad_arguments.__setitem__(
            b.request("workspace/executeCommand", {"command": case[0], "arguments": [
                bad if case[1] is None else {**case[1], case[2]: bad}]}), case[2])))
    cancel = st.integers(0, 3).map(lambda back: lambda b: b.cancel(
        b.requests[-1 - back] if len(b.requests) > back else 999_999))
    unknown = st.tuples(st.text(min_size=1, max_size=15) | st.sampled_from(["$/x", "expenv/x", "textDocument/x"]),
                        st.booleans(), JSON_ANY).map(
        lambda u: lambda b: b.request(u[0], u[2]) if u[1] else b.notify(u[0], u[2]))
    # ids a client may pick: any string, negative and big integers (kept unique within the run)
    odd_id = st.tuples(st.text(max_size=8), st.sampled_from([lambda t, n: f"{t}-{n}", lambda t, n: -n,
                                                             lambda t, n: 2**52 + n])).map(
        lambda i: lambda b: b.request("textDocument/hover", {"textDocument": {"uri": pool.open_uris[0]},
                                                              "position": {"line": 0, "character": 0}},
                                      msg_id=i[1](i[0], next(b.ids))))
    return st.one_of(schema_request, schema_request, schema_notification, edit, edit, positioned, command,
                     bad_argument, bad_argument, cancel, unknown, odd_id, malformed(), nested())


def malformed():
    """Frames no correct client writes; the daemon answers what it can and finds the next frame."""
    def parse_error(body: bytes):
        def add(b: Burst):
            b.add(frame(body))
            b.parse_errors += 1
        return add

    bodies = st.one_of(
        st.binary(max_size=40).filter(lambda x: not _is_json(x)),
        st.just(b'{"jsonrpc": "2.0", "id": 7, "method": '),
        st.text(max_size=10).map(lambda t: b'{"jsonrpc": "2.0", "method": "\xff\xfe' + t.encode() + b'"}'))
    short = st.integers(1, 20).map(lambda cut: lambda b: b.add(
        _short_frame(b'{"jsonrpc": "2.0", "method": "$/setTrace", "params": {"value": "off"}}', cut)))
    long_by = st.integers(1, 30).map(lambda extra: lambda b: (
        b.add(b"Content-Length: %d\r\n\r\n{}" % (2 + extra) + b"x" * extra), setattr(b, "parse_errors", b.parse_errors + 1)))
    garbage = st.binary(min_size=1, max_size=30).filter(lambda x: b"\n" not in x).map(
        lambda g: lambda b: b.add(g + b"\r\n"))
    other_shapes = st.sampled_from([
        encode([{"jsonrpc": "2.0", "id": 1, "method": "shutdown"}]), encode("hello"), encode(None),
        encode({"jsonrpc": "2.0", "id": {"a": 1}, "method": "shutdown"}),
        encode({"jsonrpc": "2.0", "id": 1.5, "method": "shutdown"}),
        encode({"jsonrpc": "2.0", "id": True, "method": "shutdown"}),
        encode({"jsonrpc": "1.0", "method": "shutdown"}), encode({"method": "textDocument/hover"}),
        encode({"jsonrpc": "2.0", "method": 5}), encode({"jsonrpc": "2.0", "id": 424242, "result": None}),
        b"content-length: 2\r\ncontent-type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}",
    ]).map(lambda raw: lambda b: b.add(raw))
    return st.one_of(bodies.map(parse_error), short, long_by, garbage, other_shapes)


def nested():
    """Deep JSON (past the parser's recursion limit at the top) and huge documents."""
    def deep_request(depth: int):
        def add(b: Burst):
            msg_id = next(b.ids)
            b.add(frame(b'{"jsonrpc":"2.0","id":%d,"method":"workspace/executeCommand","params":{"command":'
                        b'"expenv.data.schema","arguments":[{"dataset":%s%s}]}}' % (msg_id, b"[" * depth, b"]" * depth)))
            b.requests.append(msg_id)
            b.sent[msg_id] = ("deep", depth)
        return add

    deep = st.integers(10, 3000).map(deep_request)
    huge = st.integers(1, 3).map(lambda mb: lambda b: (
        b.notify("textDocument/didOpen", {"textDocument": {
            "uri": b.huge_uri, "languageId": "python", "version": 1,
            "text": ('x = pd.read_csv("data/raw/t.csv")  # é\n' * (mb * 27_000))}}),
        b.request("textDocument/hover", {"textDocument": {"uri": b.huge_uri},
                                         "position": {"line": mb * 27_000 - 1, "character": 20}}),
        b.notify("textDocument/didClose", {"textDocument": {"uri": b.huge_uri}})))
    return st.one_of(deep, deep, st.integers(0, 15).flatmap(lambda n: huge if n == 0 else deep))


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
        return True
    except ValueError:
        return False


def _short_frame(body: bytes, cut: int) -> bytes:
    """A Content-Length `cut` bytes too short: the rest of the body runs into the next frame."""
    return b"Content-Length: %d\r\n\r\n" % (len(body) - cut) + body


def check_response(msg_id, responses: list[dict]) -> None:
    assert len(responses) == 1, f"{len(responses)} responses to {msg_id!r}: {responses}"
    answer = responses[0]
    assert answer.get("jsonrpc") == "2.0"
    assert ("result" in answer) != ("error" in answer), answer
    if "error" in answer:
        error = answer["error"]
        assert error["code"] in ALLOWED_CODES and isinstance(error["message"], str), answer
        assert not TRACEBACK.search(json.dumps(error)), f"a traceback reached the client: {error}"


def test_fuzzed_traffic_never_breaks_the_daemon(fuzz_target):
    pool, daemon = fuzz_target["pool"], fuzz_target["daemon"]
    started, slowest = time.monotonic(), []

    def burst(steps):
        pipe = daemon()
        b = Burst(fuzz_target["ids"])
        b.huge_uri = (fuzz_target["root"] / "huge.py").as_uri()
        for step in steps:
            step(b)
        probe = b.request("workspace/executeCommand", {"command": "expenv.status", "arguments": [{}]})
        parse_errors_before = len(pipe.responses.get(None, []))
        written = time.monotonic()
        pipe.write(bytes(b.data))
        fuzz_target["sent"] += b.messages
        try:
            pipe.wait_responses(b.requests, timeout=BURST_SECONDS)
        except AssertionError as exc:
            missing = [b.sent.get(i, i) for i in b.requests if i not in pipe.responses]
            raise AssertionError(f"no response to {missing[:5]} within {BURST_SECONDS} s; "
                                 f"slowest answers so far: {slowest}") from exc
        for msg_id in b.requests:   # the slowest answers are kept, to name them if the test is slow
            slowest.append((round(pipe.answered_at[msg_id] - written, 2), *b.sent.get(msg_id, ("?",))))
        slowest.sort(key=lambda s: -s[0])
        del slowest[8:]
        assert time.monotonic() - started < BUDGET_SECONDS, (
            f"{fuzz_target['sent']} messages sent in {BUDGET_SECONDS} s; slowest answers: {slowest}")

        for msg_id in b.requests:
            check_response(msg_id, pipe.responses[msg_id])
        for msg_id, field in b.bad_arguments.items():
            error = pipe.responses[msg_id][0].get("error") or {}
            if msg_id in b.cancelled and error.get("code") == -32800:
                continue
            assert error.get("code") == -32602 and error.get("data", {}).get("field") == field \
                and field in error.get("message", ""), (field, pipe.responses[msg_id])
        assert pipe.responses[probe][0]["result"]["workspaces"][0]["config"]["project"]["name"] == "fuzz"
        for answer in pipe.responses.get(None, [])[parse_errors_before:]:
            assert answer["error"]["code"] in (-32700, -32600), answer
        assert len(pipe.responses.get(None, [])) - parse_errors_before >= b.parse_errors
        assert not pipe.framing_errors, pipe.framing_errors
        assert pipe.proc.poll() is None, pipe.stderr_tail()

    # The bursts' sizes are drawn, so one round of examples may fall short of the floor: a few more
    # bursts make up the difference (a second full round doubled the test's time).
    # No shrinking: a burst that fails may have waited a minute for an answer, and shrinking would
    # replay it until the test's timeout hides the first failure's message.
    examples = EXAMPLES
    while fuzz_target["sent"] < MIN_MESSAGES:
        settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                 phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])(
            given(steps=st.lists(actions(pool), min_size=60, max_size=120))(burst))()
        examples = 1 + (MIN_MESSAGES - fuzz_target["sent"]) // 50
    pipe = daemon()
    assert not TRACEBACK.search(json.dumps(pipe.notifications)), "a traceback reached the client"
    assert fuzz_target["sent"] >= MIN_MESSAGES
    print(f"{fuzz_target['sent']} messages in {time.monotonic() - started:.0f} s; slowest answers: {slowest}")
