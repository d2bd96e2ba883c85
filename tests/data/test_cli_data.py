"""`expenv data ...` (the typer group, run with CliRunner until main.py mounts it): `--json` is exactly
`to_json` of the service's result, the same shape the LSP commands return; errors are one red line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from expenv.cli.data import data_app
from expenv.domain.data import to_json
from tests.data.conftest import make_service


@pytest.fixture(scope="module")
def workspace(lake, duckdb_warehouse):
    return lake  # its expenv.toml names data/raw and the DuckDB warehouse


@pytest.fixture(scope="module")
def service(workspace):
    return make_service(workspace, url="duckdb:///data/warehouse.duckdb")


def run(*args: str):
    return CliRunner().invoke(data_app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("args, call", [
    (["ls"], lambda s: s.list()),
    (["ls", "--layer", "raw"], lambda s: s.list("raw")),
    (["ls", "--layer", "curated"], lambda s: s.list("curated")),
    (["schema", "data/raw/usage"], lambda s: s.schema("data/raw/usage")),
    (["schema", "curated.customers"], lambda s: s.schema("curated.customers")),
    (["preview", "data/raw/payments.csv", "--limit", "4"], lambda s: s.preview("data/raw/payments.csv", 4)),
    (["preview", "orders"], lambda s: s.preview("orders")),
    (["preview", "data/raw/customers.parquet", "-n", "5", "--offset", "30"],
     lambda s: s.preview("data/raw/customers.parquet", 5, 30)),
    (["profile", "data/raw/customers.parquet"], lambda s: s.profile("data/raw/customers.parquet")),
    (["profile", "curated.customers"], lambda s: s.profile("curated.customers")),
])
def test_json_output_is_the_service_result(workspace, service, args, call):
    result = run(*args, "--json", "-w", str(workspace))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(to_json(call(service))))


def test_the_workspace_is_found_from_a_subfolder(workspace, monkeypatch):
    monkeypatch.chdir(workspace / "data" / "raw" / "nested")
    result = run("schema", "data/raw/payments.csv", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["row_count"] == 500


def test_human_output_is_a_table(workspace):
    result = run("schema", "data/raw/customers.parquet", "-w", str(workspace))
    assert result.exit_code == 0
    assert "rows: 3,000" in result.stdout and "customer_id" in result.stdout and "int64" in result.stdout
    profile = run("profile", "data/raw/customers.parquet", "-w", str(workspace))
    assert "country" in profile.stdout and "3,000 rows" in profile.stdout
    listing = run("ls", "-w", str(workspace))
    assert "data/raw/usage" in listing.stdout and "curated.customers" in listing.stdout
    preview = run("preview", "data/raw/payments.csv", "-n", "2", "-w", str(workspace))
    assert "first 2 rows" in preview.stdout


@pytest.mark.parametrize("args, message", [
    (["schema", "data/../secrets.txt"], 'expenv data schema: "data/../secrets.txt" is outside the raw data roots '
                                        "(data/raw)"),
    (["preview", "customers; drop table x"], 'expenv data preview: "customers; drop table x" is not a table name'),
    (["profile", "data/raw/bad/ragged.csv"], "has a ragged row: line 3 has 4 fields"),
    (["ls", "--layer", "gold"], "unknown layer 'gold': use raw or curated"),
    (["preview", "orders", "--limit", "0"], "limit must be a whole number from 1 to 10000"),
    (["preview", "orders", "--offset", "-3"], "offset must be a whole number from 0"),
])
def test_errors_are_one_clear_line_on_stderr_and_exit_1(workspace, args, message):
    result = run(*args, "--json", "-w", str(workspace))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_folder_without_a_valid_config(tmp_path):
    (tmp_path / "expenv.toml").write_text("[project\n")
    result = run("ls", "-w", str(tmp_path))
    assert result.exit_code == 1 and "no valid expenv.toml" in result.stderr
