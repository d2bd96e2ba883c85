"""Paths stay inside the raw roots: hostile dataset names through the CLI (`expenv data ... --json`)
and the LSP (hover, completion, commands) either resolve inside `[data.raw] roots` or are refused
with an error naming the input. Nothing from outside the roots is ever listed, described or read."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.session import command, open_python, position_of, start
from tests.security.conftest import expenv

MARKER = "outside_secret_column"  # the only column of the file outside the roots


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    """The example project, next to a folder outside its roots, reached from inside by links:
    a folder link, a file link, a hive partition link (all leading out), an alias of a dataset
    folder and a link back up the tree (both staying inside)."""
    import duckdb

    from expenv.services.example import create_example

    base = tmp_path_factory.mktemp("containment")
    root = base / "churn"
    create_example(root, rows=2000)
    outside = base / "outside"
    (outside / "partition").mkdir(parents=True)
    duckdb.sql(f"COPY (SELECT 42 AS {MARKER}) TO '{outside / 'secret.parquet'}'")
    raw = root / "data" / "raw"
    inside_part = next((raw / "usage").glob("*=*/*.parquet"))
    shutil.copy(inside_part, outside / "partition" / inside_part.name)
    (raw / "escape").symlink_to(outside, target_is_directory=True)
    (raw / "escape_file.parquet").symlink_to(outside / "secret.parquet")
    (raw / "usage" / "month=2099-01").symlink_to(outside / "partition", target_is_directory=True)
    (raw / "alias").symlink_to(raw / "usage", target_is_directory=True)
    (raw / "loop").symlink_to(raw, target_is_directory=True)
    return root


def data(root: Path, *args: str):
    result = expenv("data", *args, "--json", "-w", str(root), timeout=120)
    return result, (json.loads(result.stdout) if result.returncode == 0 else None)


def escapes(root: Path, where: str) -> bool:
    outside = str((root.parent / "outside").resolve())
    return os.path.realpath(where).startswith(outside)


HOSTILE = [
    "data/raw/escape/secret.parquet",            # through a folder link leading out
    "data/raw/escape_file.parquet",              # a file link leading out
    "data/raw/*/secret.parquet",                 # a glob whose match is under a link leading out
    "data/raw/**/secret.parquet",                # the same, recursive
    "data/raw/esc*/*.parquet",
    "data/raw/../../outside/secret.parquet",     # climbing out
    "{outside}/secret.parquet",                  # absolute, outside
    "data/raw/%2e%2e/%2e%2e/../outside/secret.parquet",  # percent-encoded climbing
    "file://{root}/data/raw/%2e%2e/%2e%2e/%2e%2e/outside/secret.parquet",
    "data/raw/usage/month=2099-01",              # a hive partition linked out
    "data/raw/usage/month=2099-01/*.parquet",
]


def test_every_hostile_name_is_refused_by_the_cli_with_the_name_in_the_error(lake):
    wrong = []
    for name in (n.format(root=lake, outside=lake.parent / "outside") for n in HOSTILE):
        for verb in ("schema", "preview"):
            result, answer = data(lake, verb, name)
            said = result.stdout + result.stderr
            if (result.returncode != 1 or MARKER in said or name[:60] not in result.stderr  # long names shortened
                    or not any(w in said for w in ("outside the raw data roots", "matches no data files",
                                                   "percent-encoded", "does not exist"))):
                wrong.append(f"data {verb} {name}: exit {result.returncode}: {said[:300]}")
    assert not wrong, "\n".join(wrong)


def test_percent_encoded_climbing_is_refused_as_such(lake):
    result, _ = data(lake, "schema", "data/raw/%2e%2e/%2e%2e/../outside/secret.parquet")
    assert "percent-encoded" in result.stderr


def test_globs_and_partitions_read_only_files_inside_the_roots(lake):
    inside = sorted(p for p in (lake / "data/raw/usage").glob("*=*/*.parquet") if not escapes(lake, str(p)))
    _, schema = data(lake, "schema", "data/raw/usage/*/*.parquet")
    assert schema["files"] == len(inside)
    _, recursive = data(lake, "schema", "data/raw/usage/**/*.parquet")
    assert recursive["files"] == len(inside)
    _, folder = data(lake, "schema", "data/raw/usage")
    assert folder["files"] == len(inside)
    # a link that stays inside is followed, and resolves to the same files
    _, alias = data(lake, "schema", "data/raw/alias/*/*.parquet")
    assert alias["files"] == len(inside)
    _, absolute = data(lake, "schema", str(lake / "data/raw/customers.parquet"))
    assert absolute["ref"]["name"].endswith("customers.parquet")


def test_data_ls_lists_each_dataset_once_and_nothing_outside(lake):
    result, entries = data(lake, "ls", "--layer", "raw")
    assert result.returncode == 0, result.stderr
    names = [e["ref"]["name"] for e in entries]
    assert len(names) == len(set(names))
    assert not any(escapes(lake, e["ref"]["location"]) for e in entries)
    real = [os.path.realpath(e["ref"]["location"]) for e in entries]
    assert len(real) == len(set(real)), names
    assert "data/raw/customers.parquet" in names and not any("escape" in n or "loop" in n for n in names)


@pytest.fixture
async def lsp(lake):
    from pytest_lsp.client import make_test_lsp_client

    client = make_test_lsp_client()
    client.profile = "visual_studio_code"
    await client.start_io(sys.executable, "-m", "expenv", "serve", "--log-level", "DEBUG")
    await start(client, lake)
    yield client
    await client.shutdown_session()


async def test_lsp_hover_completion_and_commands_stay_inside_the_roots(lsp, lake):
    text = ('import pandas as pd\n'
            'a = pd.read_parquet("data/raw/*/secret.parquet")\n'
            'b = pd.read_parquet("data/raw/escape/secret.parquet")\n'
            'c = pd.read_parquet("data/raw/usage/*/*.parquet")\n'
            'd = pd.read_parquet("data/raw/')
    uri = open_python(lsp, lake / "explore.py", text)
    doc = types.TextDocumentIdentifier(uri=uri)
    for needle in ("data/raw/*/secret", "data/raw/escape/secret"):
        for _ in range(2):   # the second hover of a dataset shows its sample rows too
            hover = await lsp.text_document_hover_async(types.HoverParams(text_document=doc,
                                                                          position=position_of(text, needle, 3)))
            assert hover is None or MARKER not in hover.contents.value
    hover = await lsp.text_document_hover_async(types.HoverParams(
        text_document=doc, position=position_of(text, "data/raw/usage/*", 3)))
    inside = [p for p in (lake / "data/raw/usage").glob("*=*/*.parquet") if not escapes(lake, str(p))]
    assert f"{len(inside)} files" in hover.contents.value
    for typed in ('"data/raw/', '"data/raw/escape/', '"data/raw/loop/loop/'):
        line = f'e = pd.read_parquet({typed}'
        uri2 = open_python(lsp, lake / f"complete{len(typed)}.py", line)
        result = await lsp.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri2), position=types.Position(line=0, character=len(line))))
        labels = [] if result is None else [i.label for i in (result.items if hasattr(result, "items") else result)]
        assert not any("escape" in label or "secret" in label for label in labels), labels
    for name in ("data/raw/**/secret.parquet", "data/raw/escape_file.parquet", "data/raw/%2e%2e/x.parquet"):
        with pytest.raises(Exception) as refused:
            await command(lsp, "expenv.data.schema", {"dataset": name})
        assert name.split("/")[-1] in str(refused.value) and MARKER not in str(refused.value)
    listed = await command(lsp, "expenv.data.list", {"layer": "raw"})
    names = [e["ref"]["name"] for e in listed]
    assert len(names) == len(set(names)) and not any("escape" in n or "loop" in n for n in names)
