"""Work-done progress is cancellable: cancelling the progress of `expenv.data.profile` interrupts
the query under way (DuckDB on a generated 30-million-row parquet file; SQLite through SQLAlchemy
on a view that takes forever), the request ends with RequestCancelled, and the daemon goes on
serving (the real `expenv serve`)."""

from __future__ import annotations

import sqlite3

from tests.conftest import DAEMON_CMD, REPO
from tests.hardening.framed_pipe import FramedPipe

REQUEST_CANCELLED = -32800


def _cancel_profile(root, dataset: str, rows_said: str, then_profile: str) -> dict:
    """Profile `dataset`, cancel its progress once it says it is reading `rows_said`; check the
    answer and the log, then profile `then_profile` to completion and return that profile."""
    pipe = FramedPipe(DAEMON_CMD, cwd=str(REPO))
    try:
        pipe.request(1, "initialize", {"processId": None, "rootUri": root.as_uri(),
                                       "capabilities": {"window": {"workDoneProgress": True}},
                                       "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}]})
        pipe.wait_responses([1], 60)
        pipe.notify("initialized", {})
        pipe.request(2, "workspace/executeCommand", {"command": "expenv.data.profile",
                                                     "arguments": [{"dataset": dataset}]})

        def reading() -> dict | None:
            return next((n["params"] for n in pipe.notifications if n["method"] == "$/progress"
                         and f"reading {rows_said}" in n["params"]["value"].get("message", "")), None)

        pipe.wait_for(lambda: reading() is not None, 120, "the profile's progress reaching the query")
        pipe.notify("window/workDoneProgress/cancel", {"token": reading()["token"]})
        pipe.wait_responses([2], 120)
        error = pipe.responses[2][0].get("error")
        assert error is not None and error["code"] == REQUEST_CANCELLED, pipe.responses[2]
        assert "cancelled" in error["message"]
        said = f"profiling {dataset}: cancelled, query interrupted".encode()
        pipe.wait_for(lambda: said in pipe.stderr, 30, "the daemon saying that the query was interrupted")
        assert any(n["method"] == "$/progress" and n["params"]["token"] == reading()["token"]
                   and n["params"]["value"]["kind"] == "end" for n in pipe.notifications)

        pipe.request(3, "workspace/executeCommand", {"command": "expenv.data.profile",
                                                     "arguments": [{"dataset": then_profile}]})
        pipe.wait_responses([3], 120)
        return pipe.responses[3][0]["result"]
    finally:
        assert pipe.close() == 0


def test_cancelling_a_profile_interrupts_its_duckdb_query(make_workspace):
    import duckdb

    root = make_workspace("big", '[project]\nname = "big"\n\n[data.raw]\nroots = ["data/raw"]\n')
    (root / "data" / "raw").mkdir(parents=True)
    duckdb.sql(f"""COPY (SELECT range AS id, hash(range) % 1000 AS bucket, random() AS score
                   FROM range(30000000)) TO '{root / "data" / "raw" / "big.parquet"}'""")
    duckdb.sql(f"COPY (SELECT range AS id FROM range(100)) TO '{root / 'data' / 'raw' / 'small.parquet'}'")
    profile = _cancel_profile(root, "data/raw/big.parquet", "30,000,000 rows", "data/raw/small.parquet")
    assert profile["row_count"] == 100 and profile["columns"][0]["name"] == "id"


def test_cancelling_a_profile_interrupts_its_sql_query_through_sqlalchemy(make_workspace):
    root = make_workspace("sql", '[project]\nname = "sql"\n\n[data.curated]\nurl = "sqlite:///warehouse.sqlite"\n')
    con = sqlite3.connect(root / "warehouse.sqlite")
    con.executescript("""
        CREATE TABLE numbers AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200000)
            SELECT x FROM c;
        -- no row ever matches: reading its first row means comparing every pair (4e10 of them)
        CREATE VIEW endless AS SELECT a.x FROM numbers a, numbers b WHERE a.x * b.x = -1;
        CREATE TABLE small AS SELECT x FROM numbers LIMIT 50;""")
    con.close()
    profile = _cancel_profile(root, "main.endless", "rows", "main.small")
    assert profile["row_count"] == 50 and profile["columns"][0]["name"] == "x"
