"""A very long document: the hover still names the dataset at its end, and the checks, which
tokenize the whole text, are replaced by one notice instead of holding a core on every edit."""

from __future__ import annotations

from tests.conftest import DAEMON_CMD
from tests.hardening.framed_pipe import FramedPipe

LINES = 30_000


def test_a_long_document_gets_hovers_and_one_notice_instead_of_the_checks(tmp_path):
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "expenv.toml").write_text('[project]\nname = "long"\n\n[data.raw]\nroots = ["data/raw"]\n')
    (tmp_path / "data" / "raw" / "t.csv").write_text("a,b\n1,x\n")
    uri = (tmp_path / "long.py").as_uri()
    text = "import pandas as pd\n" + "".join(f'x{i} = """\n#"""\n' if i % 1000 == 0 else f'x{i} = {i}  # "\n'
                                             for i in range(LINES)) + 'df = pd.read_csv("data/raw/t.csv")\n'
    pipe = FramedPipe(DAEMON_CMD, cwd=str(tmp_path))
    try:
        pipe.request(1, "initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        pipe.wait_responses([1], 60)
        pipe.notify("initialized", {})
        pipe.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                              "text": text}})
        last = text.count("\n") - 1
        pipe.request(2, "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": last, "character": 20}})
        pipe.wait_responses([2], 120)
        hover = pipe.responses[2][0]["result"]
        assert "data/raw/t.csv" in hover["contents"]["value"] and "BIGINT" in hover["contents"]["value"]
        assert hover["range"]["start"] == {"line": last, "character": 18}

        def published() -> list[dict]:   # other files (expenv.toml, ...) may get theirs first
            return [n["params"] for n in pipe.notifications
                    if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri]

        pipe.wait_for(lambda: published(), 60, "diagnostics for the long document")
        [notice] = published()[-1]["diagnostics"]
        assert notice["code"] == "too_large" and "expenv check" in notice["message"], notice
    finally:
        assert pipe.close() == 0, pipe.stderr_tail()


def _session(tmp_path, text: str) -> tuple[FramedPipe, str]:
    (tmp_path / "data" / "raw").mkdir(parents=True, exist_ok=True)
    (tmp_path / "expenv.toml").write_text('[project]\nname = "long"\n\n[data.raw]\nroots = ["data/raw"]\n')
    (tmp_path / "data" / "raw" / "t.csv").write_text("a,b\n1,x\n")
    uri = (tmp_path / "doc.py").as_uri()
    pipe = FramedPipe(DAEMON_CMD, cwd=str(tmp_path))
    pipe.request(1, "initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
    pipe.wait_responses([1], 60)
    pipe.notify("initialized", {})
    pipe.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                          "text": text}})
    return pipe, uri


def _hover(pipe: FramedPipe, msg_id: int, uri: str, line: int, character: int):
    pipe.request(msg_id, "textDocument/hover", {"textDocument": {"uri": uri},
                                                "position": {"line": line, "character": character}})
    pipe.wait_responses([msg_id], 120)
    return pipe.responses[msg_id][0]["result"]


def test_a_change_whose_range_ends_before_it_starts_is_skipped(tmp_path):
    """pygls applied it by writing the text between its ends twice: fuzzed edits doubled a document
    to 3.6 MB in ten changes, and each hover in it then held the event loop for seconds."""
    line = 'df = pd.read_csv("data/raw/t.csv")'
    pipe, uri = _session(tmp_path, line + "\n")
    try:
        for version in range(2, 5):   # each would have doubled the line
            pipe.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [
                {"range": {"start": {"line": 0, "character": 200}, "end": {"line": 0, "character": 0}}, "text": ""}]})
        assert _hover(pipe, 2, uri, 0, 20) is not None   # the literal is still where it was
        assert _hover(pipe, 3, uri, 0, len(line) + 20) is None   # and nothing was written after it
        pipe.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 5}, "contentChanges": [
            {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 2}}, "text": "frame"}]})
        assert _hover(pipe, 4, uri, 0, 23)["range"]["start"] == {"line": 0, "character": 21}   # a real edit applies
        assert "ends before it starts" in pipe.stderr_tail(20_000)
    finally:
        assert pipe.close() == 0, pipe.stderr_tail()


def test_one_very_long_line_gets_no_tokenizing_hover_and_one_notice(tmp_path):
    """Lines are no help on a generated file's single long line: the hover reads no literal there
    and the checks give their one notice, instead of tokenizing megabytes on every request."""
    text = "x = [" + "1, " * 800_000 + ']; df = pd.read_csv("data/raw/t.csv")\n'
    pipe, uri = _session(tmp_path, text)
    try:
        assert _hover(pipe, 2, uri, 0, len(text) - 10) is None
        pipe.wait_for(lambda: any(n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri
                                  for n in pipe.notifications), 60, "diagnostics for the long line")
        [notice] = [n["params"] for n in pipe.notifications if n["method"] == "textDocument/publishDiagnostics"
                    and n["params"]["uri"] == uri][-1]["diagnostics"]
        assert notice["code"] == "too_large" and "characters" in notice["message"], notice
    finally:
        assert pipe.close() == 0, pipe.stderr_tail()
