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
