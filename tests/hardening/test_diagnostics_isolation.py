"""Each diagnostic provider is isolated: when one raises, the others' diagnostics still reach
the editor and the failure goes to the log (a daemon whose policy provider always raises)."""

from __future__ import annotations

import sys

from tests.conftest import REPO
from tests.hardening.framed_pipe import FramedPipe

SPARK = ('from pyspark.sql import SparkSession\n'
         'spark = SparkSession.builder.remote("sc://127.0.0.1:15002").getOrCreate()\n'
         'n = spark.sparkContext.defaultParallelism\n')


def test_a_failing_provider_does_not_drop_the_others_diagnostics(make_workspace):
    root = make_workspace("iso", '[project]\nname = "iso"\n')
    pipe = FramedPipe([sys.executable, str(REPO / "tests" / "servers" / "failing_provider_server.py")],
                      cwd=str(REPO))
    try:
        pipe.request(1, "initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                                       "workspaceFolders": [{"uri": root.as_uri(), "name": "iso"}]})
        pipe.wait_responses([1], 60)
        pipe.notify("initialized", {})
        uri = (root / "job.py").as_uri()
        pipe.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                              "text": SPARK}})

        def published():
            return [n["params"]["diagnostics"] for n in pipe.notifications
                    if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri]

        pipe.wait_for(lambda: any(published()), 120, "diagnostics for the document")
        codes = {d.get("code") for d in published()[-1]}
        assert "spark_connect" in codes
        pipe.wait_for(lambda: b"policy provider breaks" in pipe.stderr, 30, "the failure in the log")
    finally:
        assert pipe.close() == 0
