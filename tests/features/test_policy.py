"""The production sourcing policy on a git repository with `feature/x` and `release/1.0` branches:
the same direct read is information on feature/x and an error on release/1.0; modules the pipeline
imports are followed transitively; `expenv check` exits non-zero with file:line output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

CONFIG = """\
[project]
name = "policy"

[data.raw]
roots = ["data/raw"]

[policy]
feature_store_required = ["release/*", "main"]
"""

TRAIN = """\
import pandas as pd

from common import loaders
from common.helpers import label_events

EVENTS = "data/raw/events.parquet"


def main():
    events = pd.read_parquet(EVENTS)
    return loaders.users().merge(events).merge(label_events())
"""
LOADERS = 'import pandas as pd\n\nfrom . import deep\n\n\ndef users():\n    return pd.read_parquet("data/raw/users.parquet")\n'
DEEP = 'import pandas as pd\n\n\ndef old():\n    return pd.read_parquet("data/raw/old.parquet")\n'
HELPERS = "def label_events():\n    return []\n"
SCRATCH = 'import pandas as pd\n\ndf = pd.read_parquet("data/raw/users.parquet")\n'


def _git(root: Path, *args: str) -> str:
    cmd = ["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path / "policy"
    files = {"expenv.toml": CONFIG, "pipelines/train.py": TRAIN, "common/__init__.py": "",
             "common/loaders.py": LOADERS, "common/deep.py": DEEP, "common/helpers.py": HELPERS,
             "notebooks/scratch.py": SCRATCH}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "data/raw").mkdir(parents=True)
    for name in ("events", "users", "old"):
        pq.write_table(pa.table({"customer_id": [1, 2]}), root / f"data/raw/{name}.parquet")
    _git(root, "init", "-q", "-b", "feature/x")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "init")
    _git(root, "branch", "release/1.0")
    return root


def _check(root: Path, **kwargs):
    from expenv.services.features.policy import check_policy
    from expenv.services.workspace import WorkspaceSet

    return check_policy(WorkspaceSet().add(root).services.config, **kwargs)


def _found(violations) -> set[tuple[str, int, str]]:
    return {(Path(v.path).name, v.line, v.severity) for v in violations}


def test_same_read_is_information_on_feature_and_error_on_release(repo):
    on_feature = _check(repo)
    assert _found(on_feature) == {("train.py", 6, "information"), ("loaders.py", 7, "information"),
                                  ("deep.py", 5, "information")}
    assert {v.branch for v in on_feature} == {"feature/x"}
    _git(repo, "checkout", "-q", "release/1.0")
    on_release = _check(repo)
    assert _found(on_release) == {("train.py", 6, "error"), ("loaders.py", 7, "error"), ("deep.py", 5, "error")}
    first = next(v for v in on_release if v.path.endswith("train.py"))
    assert (first.column, first.end_column, first.dataset, first.layer) == (11, 34, "data/raw/events.parquet", "raw")
    assert "release/1.0" in first.message


def test_imports_are_followed_transitively_and_nothing_else(repo):
    by_file = {Path(v.path).relative_to(repo).as_posix(): v.imported_by for v in _check(repo)}
    assert by_file == {"pipelines/train.py": None, "common/loaders.py": "pipelines/train.py",
                       "common/deep.py": "pipelines/train.py"}  # notebooks/scratch.py is not pipeline code


def test_branch_and_enforce_overrides(repo):
    assert {v.severity for v in _check(repo, branch="main")} == {"error"}
    assert {v.severity for v in _check(repo, branch="release/1.0", enforce=False)} == {"information"}
    assert {v.severity for v in _check(repo, enforce=True)} == {"error"}
    assert _found(_check(repo, paths=[repo / "notebooks"])) == {("scratch.py", 3, "information")}


def test_open_document_is_checked_from_its_unsaved_text(repo):
    from expenv.services.features.policy import check_document
    from expenv.services.workspace import WorkspaceSet

    config = WorkspaceSet().add(repo).services.config
    edited = TRAIN.replace('pd.read_parquet(EVENTS)', 'pd.read_parquet("data/raw/old.parquet")')
    found = check_document(config, repo / "pipelines/train.py", edited, branch="release/1.0")
    assert {(v.line, v.dataset, v.severity) for v in found} == {
        (6, "data/raw/events.parquet", "error"), (10, "data/raw/old.parquet", "error")}
    assert check_document(config, repo / "notebooks/scratch.py", SCRATCH) == []


def _cli(root: Path, *args: str):
    from expenv.cli.features import check

    app = typer.Typer()
    app.command("check")(check)
    app.command("noop")(lambda: None)  # two commands, so `check` stays a subcommand
    return CliRunner().invoke(app, ["check", "-w", str(root), *args], catch_exceptions=False)


def test_expenv_check_exit_codes_and_file_line_output(repo, monkeypatch):
    monkeypatch.chdir(repo)
    ok = _cli(repo)
    assert ok.exit_code == 0, ok.output
    assert "pipelines/train.py:6:11: information: direct read of raw data data/raw/events.parquet" in ok.stdout
    assert "common/deep.py:5:" in ok.stdout
    failed = _cli(repo, "--branch", "release/1.0")
    assert failed.exit_code == 1
    assert "pipelines/train.py:6:11: error:" in failed.stdout
    _git(repo, "checkout", "-q", "release/1.0")
    as_json = _cli(repo, "--json")
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert (data["branch"], data["required"], len(data["violations"])) == ("release/1.0", True, 3)
    assert data["violations"][0]["severity"] == "error"
    clean = _cli(repo, "notebooks/../common/helpers.py", "--branch", "release/1.0")
    assert clean.exit_code == 0 and clean.stdout == ""


WAREHOUSE_CONFIG = """\
[project]
name = "marts"

[data.curated]
url = "duckdb:///data/warehouse.duckdb"
{schemas}
[policy]
feature_store_required = ["release/*"]
"""
MARTS_TRAIN = 'import duckdb\n\norders = duckdb.sql("select * from marts.orders")\nold = "curated.orders"\n'


def _check_json(root: Path) -> list[tuple[int, str]]:
    result = subprocess.run([sys.executable, "-m", "expenv", "check", "--json", "--branch", "release/1.0"], cwd=root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    return [(v["line"], v["dataset"]) for v in json.loads(result.stdout)["violations"]]


def test_curated_schemas_come_from_the_config_else_the_warehouse_else_curated(tmp_path):
    import duckdb

    root = tmp_path / "marts"
    (root / "pipelines").mkdir(parents=True)
    (root / "pipelines" / "train.py").write_text(MARTS_TRAIN)
    (root / "expenv.toml").write_text(WAREHOUSE_CONFIG.format(schemas=""))
    assert _check_json(root) == [(4, "curated.orders")]  # no warehouse (a CI clone): schema curated
    (root / "data").mkdir()
    with duckdb.connect(str(root / "data" / "warehouse.duckdb")) as con:
        con.execute("create schema marts; create table marts.orders as select 1 as id")
    assert _check_json(root) == [(3, "marts.orders")]  # the warehouse's schemas
    (root / "expenv.toml").write_text(WAREHOUSE_CONFIG.format(schemas='schemas = ["marts", "curated"]\n'))
    assert _check_json(root) == [(3, "marts.orders"), (4, "curated.orders")]
