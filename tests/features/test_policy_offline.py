"""The sourcing policy gives the same verdict without the data.

The example project, made with `expenv example create` and committed on a `release/1.0` branch
with pipeline code that reads data in every form the policy knows, is checked in its working copy
(all the data, the warehouse) and in a fresh `git clone` of it (data and warehouse are gitignored,
as in CI). `expenv check` (text and --json) and the editor's diagnostics must agree, read for read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.session import open_python, start, wait_for

LAKE = "s3://churn-lake/raw"
# User pipeline code: (needle, layer, dataset) follow each read; the needle is what the finding spans.
SOURCES = '''\
"""Training inputs, read straight from the lake and the warehouse (what the policy forbids)."""

import glob
import os
from pathlib import Path

import duckdb
import pandas as pd

RAW = "data/raw"
RAW_DIR = Path("data") / "raw"
WAREHOUSE = "data/warehouse.duckdb"
MONTH = "2024-01"
LAKE = "s3://churn-lake/raw"
NOTES = "data/raw/README.md"


def customers():
    return pd.read_parquet("data/raw/customers.parquet")


def next_year():
    return pd.read_parquet("data/raw/customers_2025.parquet")


def usage_files():
    return glob.glob("data/raw/usage/*/*.parquet")


def january():
    return pd.read_parquet("data/raw/usage/month=2024-01")


def lake_events():
    return pd.read_parquet(f"{LAKE}/events/2024.parquet")


def lake_sessions():
    return pd.read_parquet("s3://churn-lake/raw/sessions/")


def payments():
    return pd.read_csv(RAW_DIR / "payments.csv")


def labels():
    return pd.read_json(os.path.join(RAW, "churn_labels.json"), lines=True)


def month():
    return pd.read_parquet(f"{RAW}/usage/month={MONTH}")


def from_this_file():
    payments = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "raw" / "payments.csv")
    labels = pd.read_json(os.path.join(os.path.dirname(__file__), "..", RAW, "churn_labels.json"))
    return payments, labels


def curated_customers():
    return duckdb.sql("SELECT customer_id, plan FROM curated.customers").df()


def training_rows(limit):
    con = duckdb.connect(WAREHOUSE, read_only=True)
    return con.sql(f"select * from churn_training limit {limit}").df()


def monthly_usage():
    with duckdb.connect("data/warehouse.duckdb", read_only=True) as con:
        return con.execute("""
            WITH recent AS (SELECT * FROM customer_monthly_usage WHERE month >= DATE '2024-07-01')
            SELECT * FROM recent""").df()


def not_reads(frame):
    scratch = duckdb.connect()
    scratch.sql("select * from churn_training_copy")
    frame.to_parquet("exports/customers.parquet")
    return open(NOTES).read(), Path(RAW).exists(), "staging.customers"
'''
# (needle, nth occurrence, layer, dataset) of every read in SOURCES, in order
EXPECTED = [
    ("data/raw/customers.parquet", 0, "raw", "data/raw/customers.parquet"),
    ("data/raw/customers_2025.parquet", 0, "raw", "data/raw/customers_2025.parquet"),
    ("data/raw/usage/*/*.parquet", 0, "raw", "data/raw/usage/*/*.parquet"),
    ("data/raw/usage/month=2024-01", 0, "raw", "data/raw/usage/month=2024-01"),
    ('f"{LAKE}/events/2024.parquet"', 0, "raw", f"{LAKE}/events/2024.parquet"),
    ("s3://churn-lake/raw/sessions/", 0, "raw", f"{LAKE}/sessions/"),
    ('RAW_DIR / "payments.csv"', 0, "raw", "data/raw/payments.csv"),
    ('os.path.join(RAW, "churn_labels.json")', 0, "raw", "data/raw/churn_labels.json"),
    ('f"{RAW}/usage/month={MONTH}"', 0, "raw", "data/raw/usage/month=2024-01"),
    ('Path(__file__).resolve().parents[1] / "data" / "raw" / "payments.csv"', 0, "raw", "data/raw/payments.csv"),
    ('os.path.join(os.path.dirname(__file__), "..", RAW, "churn_labels.json")', 0, "raw", "data/raw/churn_labels.json"),
    ("curated.customers", 0, "curated", "curated.customers"),
    ('f"select * from churn_training limit {limit}"', 0, "curated", "churn_training"),
    ("customer_monthly_usage", 0, "curated", "customer_monthly_usage"),
]
# the example's own pipeline: its exploration read of the curated training table
TRAIN_EXPECTED = ('curated.churn_training"', 0, "curated", "curated.churn_training")


def _run(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def _git(cwd: Path, *args: str) -> str:
    return _run(cwd, "git", "-c", "user.email=ds@example.org", "-c", "user.name=ds", *args).stdout


def _expenv(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return _run(cwd, sys.executable, "-m", "expenv", *args, check=False)


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> tuple[Path, Path]:
    """(working copy with all its data, fresh clone without it), both on release/1.0."""
    base = tmp_path_factory.mktemp("policy-offline")
    work = base / "churn"
    _expenv(base, "example", "create", str(work), "--rows", "2000").check_returncode()
    config = (work / "expenv.toml").read_text()
    (work / "expenv.toml").write_text(config.replace('roots = ["data/raw"]', f'roots = ["data/raw", "{LAKE}"]', 1))
    (work / "pipelines" / "sources.py").write_text(SOURCES)
    _git(work, "init", "-q", "-b", "release/1.0")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "churn pipeline")
    clone = base / "clone"
    _git(base, "clone", "-q", str(work), str(clone))
    return work, clone


def _position(text: str, needle: str, nth: int) -> tuple[int, int]:
    """1-based (line, column) of the nth occurrence of `needle` in `text`."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def _findings(root: Path, violations: list[dict]) -> list[tuple]:
    return [(Path(v["path"]).relative_to(root.resolve()).as_posix(), v["line"], v["column"], v["end_line"], v["end_column"],
             v["layer"], v["dataset"], v["severity"], v["message"]) for v in violations]


def test_a_clone_without_data_gets_the_same_findings_as_the_working_copy(copies):
    work, clone = copies
    assert (work / "data" / "raw" / "customers.parquet").is_file() and (work / "data" / "warehouse.duckdb").is_file()
    assert not (clone / "data").exists()  # the example's .gitignore keeps data out of git
    assert "pipelines/sources.py" in _git(clone, "ls-files").split()
    results = {}
    for name, root in (("work", work), ("clone", clone)):
        as_json = _expenv(root, "check", "--json")
        assert as_json.returncode == 1, f"{name}: {as_json.stdout}{as_json.stderr}"
        data = json.loads(as_json.stdout)
        assert (data["branch"], data["required"]) == ("release/1.0", True)
        text = _expenv(root, "check")
        assert text.returncode == 1, f"{name}: {text.stdout}{text.stderr}"
        results[name] = (_findings(root, data["violations"]), text.stdout)
    assert results["clone"] == results["work"]

    findings, text = results["clone"]
    sources, train = SOURCES, (clone / "pipelines" / "train.py").read_text()
    got = {(f[0], f[1], f[2], f[5], f[6]) for f in findings}
    want = {("pipelines/sources.py", *_position(sources, needle, nth), layer, dataset)
            for needle, nth, layer, dataset in EXPECTED}
    want.add(("pipelines/train.py", *_position(train, TRAIN_EXPECTED[0], 0), *TRAIN_EXPECTED[2:]))
    assert got == want
    assert {f[7] for f in findings} == {"error"}
    line, column = _position(sources, "data/raw/customers_2025.parquet", 0)
    assert f"pipelines/sources.py:{line}:{column}: error: direct read of raw data data/raw/customers_2025.parquet" in text


async def test_editor_diagnostics_in_the_clone_match_expenv_check(client, copies):
    _, clone = copies
    violations = json.loads(_expenv(clone, "check", "--json", "pipelines/sources.py").stdout)["violations"]
    await start(client, clone)
    path = clone / "pipelines" / "sources.py"
    uri = open_python(client, path, path.read_text())
    await wait_for(lambda: len([d for d in client.diagnostics.get(uri, []) if d.code == "policy"]) >= len(EXPECTED),
                   timeout=180)  # the first pass imports Feast; the machine may be busy
    diagnostics = [d for d in client.diagnostics[uri] if d.code == "policy"]
    over_lsp = sorted((d.range.start.line + 1, d.range.start.character + 1, d.range.end.line + 1,
                       d.range.end.character + 1, d.message) for d in diagnostics)
    assert over_lsp == sorted((v["line"], v["column"], v["end_line"], v["end_column"], v["message"]) for v in violations)
    assert {d.severity for d in diagnostics} == {types.DiagnosticSeverity.Error}
