"""Data lookup in the editor, end to end over LSP, in .py files and notebook cells."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from lsprotocol import types

from tests.lsp.session import command, open_notebook, open_python, position_of, start

PANDAS_FILE = '''import pandas as pd
import duckdb

customers = pd.read_parquet("data/raw/customers.parquet")
usage = duckdb.sql("""SELECT customer_id, sessions FROM curated.customer_monthly_usage""")
print(len(customers))
'''


async def hover(client, uri, pos):
    return await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos))


async def code_actions(client, uri, pos):
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=[])))


async def complete(client, uri, pos):
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos))
    return [] if result is None else [i.label for i in (result.items if hasattr(result, "items") else result)]


@pytest.mark.every_client
async def test_hover_on_a_raw_parquet_path_shows_schema_rows_then_a_sample(client, example_project):
    await start(client, example_project)
    uri = open_python(client, example_project / "explore.py", PANDAS_FILE)
    result = await hover(client, uri, position_of(PANDAS_FILE, "data/raw/customers", 5))
    text = result.contents.value
    assert "**raw**" in text and "`parquet`" in text
    assert "2,000 rows" in text  # customers are rows/10 in the example project
    for column in ("customer_id", "signup_date", "country", "plan", "monthly_fee"):
        assert f"| {column} |" in text
    # the first hover of a dataset decodes no rows (DESCRIBE-level work): it says where they are
    assert "Sample (" not in text and "Hover again for sample rows" in text
    assert result.range.start == position_of(PANDAS_FILE, "data/raw/customers", 0)
    again = (await hover(client, uri, position_of(PANDAS_FILE, "data/raw/customers", 7))).contents.value
    assert "Sample (5 rows)" in again and "Hover again" not in again
    assert again.partition("\n\nSample (")[0] == text.partition("\n\n_Hover again")[0]


async def test_hover_on_a_table_inside_sql_text_shows_the_curated_table(client, example_project):
    await start(client, example_project)
    uri = open_python(client, example_project / "explore.py", PANDAS_FILE)
    result = await hover(client, uri, position_of(PANDAS_FILE, "curated.customer_monthly_usage", 9))
    assert "**curated**" in result.contents.value
    assert "| sessions |" in result.contents.value or "sessions" in result.contents.value


BUILT_PATHS = '''import os
from pathlib import Path
import pandas as pd

RAW = Path("data") / "raw"
customers = pd.read_parquet(RAW / "customers.parquet")
payments = pd.read_csv(os.path.join("data/raw", "payments.csv"))
usage = pd.read_parquet(f"{RAW}/usage")
other = pd.read_parquet(f"{RAW}/{name}")
'''


async def test_hover_on_a_path_built_from_constants_names_what_the_policy_reads(client, example_project):
    """`RAW / "customers.parquet"`: the sourcing policy reads the whole expression as the dataset;
    so does the hover, over the whole expression."""
    await start(client, example_project)
    uri = open_python(client, example_project / "built.py", BUILT_PATHS)
    for needle, kind, expression in (('"customers.parquet"', "`parquet`", "RAW / "), ('"payments.csv"', "`csv`", "os.path"),
                                     ("/usage", "`parquet`", 'f"{RAW}')):
        result = await hover(client, uri, position_of(BUILT_PATHS, needle, 3))
        assert result is not None and "**raw**" in result.contents.value and kind in result.contents.value, needle
        assert result.range.start == position_of(BUILT_PATHS, expression, 0), needle
    assert await hover(client, uri, position_of(BUILT_PATHS, "{name}", 2)) is None   # `name` is no constant


@pytest.mark.parametrize("needle", ["pd.read_parquet", "import pandas", "len(customers)", '"""SELECT'])
async def test_no_answer_for_symbols_that_are_not_ours(client, example_project, needle):
    await start(client, example_project)
    uri = open_python(client, example_project / "explore.py", PANDAS_FILE)
    assert await hover(client, uri, position_of(PANDAS_FILE, needle, 1)) is None


@pytest.mark.every_client
async def test_hover_works_in_a_notebook_cell(client, example_project):
    result = await start(client, example_project)
    if client.profile == "visual_studio_code":
        assert result.capabilities.notebook_document_sync.notebook_selector[0].notebook == "jupyter-notebook"
    cells = ["import pandas as pd\n%matplotlib inline", 'df = pd.read_csv("data/raw/payments.csv")\ndf.head()']
    cell_uris = open_notebook(client, example_project / "notebooks" / "scratch.ipynb", cells)
    text = (await hover(client, cell_uris[1], position_of(cells[1], "payments", 2))).contents.value
    assert "**raw**" in text and "`csv`" in text and "amount" in text


@pytest.mark.every_client
async def test_completion_of_paths_under_a_raw_root(client, example_project):
    await start(client, example_project)
    text = 'import pandas as pd\ndf = pd.read_parquet("data/raw/'
    uri = open_python(client, example_project / "draft.py", text)
    labels = await complete(client, uri, types.Position(line=1, character=len('df = pd.read_parquet("data/raw/')))
    assert "data/raw/customers.parquet" in labels
    assert "data/raw/usage" in labels  # a hive-partitioned directory is one dataset
    assert "data/raw/payments.csv" in labels


@pytest.mark.every_client
async def test_completion_of_tables_and_columns_in_sql(client, example_project):
    await start(client, example_project)
    text = 'import duckdb\nq = duckdb.sql("SELECT  FROM curated.customers")\nr = duckdb.sql("SELECT * FROM cur'
    uri = open_python(client, example_project / "draft.py", text)
    tables = await complete(client, uri, types.Position(line=2, character=len('r = duckdb.sql("SELECT * FROM cur')))
    assert {"curated.customers", "curated.churn_training"} <= set(tables)
    columns = await complete(client, uri, types.Position(line=1, character=len('q = duckdb.sql("SELECT ')))
    assert {"customer_id", "country", "plan"} <= set(columns)


async def test_no_completion_outside_our_strings(client, example_project):
    await start(client, example_project)
    text = "import pandas as pd\npd.re"
    uri = open_python(client, example_project / "draft.py", text)
    assert await complete(client, uri, types.Position(line=1, character=5)) == []


async def test_code_actions_insert_a_snippet_that_runs_and_offer_profile(client, example_project, tmp_path):
    await start(client, example_project)
    text = 'import pandas as pd\n\npath = "data/raw/customers.parquet"\n'
    uri = open_python(client, example_project / "load.py", text)
    pos = position_of(text, "customers.parquet", 2)
    actions = await code_actions(client, uri, pos)
    by_title = {a.title: a for a in actions}
    assert set(by_title) == {"Insert a loading snippet", "Profile this dataset"}
    [edit] = by_title["Insert a loading snippet"].edit.changes[uri]
    assert edit.new_text == 'customers_df = pd.read_parquet("data/raw/customers.parquet")\n'
    lines = text.split("\n")
    lines.insert(edit.range.start.line, edit.new_text.rstrip("\n"))
    script = "\n".join(lines) + "\nprint(len(customers_df))\n"
    ran = subprocess.run([sys.executable, "-c", script], cwd=example_project, capture_output=True, text=True)
    assert ran.stdout.strip() == "2000", ran.stderr
    profile_cmd = by_title["Profile this dataset"]
    assert isinstance(profile_cmd, types.Command)
    assert profile_cmd.command == "expenv.data.profile"
    profile = await command(client, profile_cmd.command, profile_cmd.arguments[0])
    assert profile["row_count"] == 2000


async def test_polars_file_gets_a_polars_snippet(client, example_project):
    await start(client, example_project)
    text = 'import polars as pl\nx = "data/raw/payments.csv"\n'
    uri = open_python(client, example_project / "pl.py", text)
    pos = position_of(text, "payments", 1)
    actions = await code_actions(client, uri, pos)
    snippet = next(a for a in actions if a.title == "Insert a loading snippet").edit.changes[uri][0].new_text
    assert snippet == 'payments_df = pl.scan_csv("data/raw/payments.csv").collect()\n'


async def test_data_commands_return_the_same_json_as_the_cli(client, example_project):
    await start(client, example_project)
    for name, cli in (("expenv.data.schema", ["schema", "data/raw/customers.parquet"]),
                      ("expenv.data.preview", ["preview", "curated.customers", "--limit", "3"]),
                      ("expenv.data.preview", ["preview", "curated.customers", "--limit", "3", "--offset", "7"]),
                      ("expenv.data.preview", ["preview", "data/raw/customers.parquet", "--limit", "3", "--sort",
                                               "customer_id", "--descending"])):
        options = {"dataset": cli[1], **({"limit": 3} if "--limit" in cli else {}),
                   **({"offset": 7} if "--offset" in cli else {}),
                   **({"sort": {"column": "customer_id", "descending": True}} if "--sort" in cli else {})}
        over_lsp = await command(client, name, options)
        from_cli = subprocess.run([sys.executable, "-m", "expenv", "data", *cli, "--json"], cwd=example_project,
                                  capture_output=True, text=True, timeout=120)
        assert from_cli.returncode == 0, from_cli.stderr
        assert json.loads(from_cli.stdout) == over_lsp
    listing = await command(client, "expenv.data.list", {})
    names = {entry["ref"]["name"] for entry in listing}
    assert {"data/raw/customers.parquet", "data/raw/usage", "curated.customers"} <= names


async def test_the_schema_carries_a_loading_snippet_that_loads_the_dataset(client, example_project):
    """The Data view's "Copy loading snippet": pasted into a script at the workspace root, it loads
    every row of the dataset."""
    await start(client, example_project)
    for dataset in ("data/raw/customers.parquet", "data/raw/payments.csv", "curated.customers"):
        schema = await command(client, "expenv.data.schema", {"dataset": dataset})
        variable = schema["snippet"].split(" = ", 1)[0]
        script = f"import duckdb\nimport pandas as pd\n{schema['snippet']}\nprint(len({variable}))"
        ran = subprocess.run([sys.executable, "-c", script], cwd=example_project, capture_output=True, text=True,
                             timeout=120)
        assert ran.returncode == 0, ran.stderr
        assert int(ran.stdout) == schema["row_count"], dataset



@pytest.mark.parametrize(("options", "needle"), [
    ({"dataset": "data/raw/../../expenv.toml"}, "outside"),
    ({"dataset": "/etc/passwd"}, "outside"),
    ({"dataset": "curated.customers; DROP TABLE curated.customers"}, "not a table name"),
    ({}, 'pass {"dataset"'),
])
async def test_bad_input_gets_a_clear_error_and_the_daemon_keeps_serving(client, example_project, options, needle):
    await start(client, example_project)
    with pytest.raises(Exception) as info:
        await command(client, "expenv.data.schema", options)
    assert needle in str(info.value)
    assert "Traceback" not in str(info.value)
    # still serving, data intact
    assert (await command(client, "expenv.data.schema", {"dataset": "curated.customers"}))["row_count"] == 2000


async def test_a_bad_preview_offset_or_sort_names_the_field_and_the_daemon_keeps_serving(client, example_project):
    await start(client, example_project)
    for bad in (-1, "10", True):
        with pytest.raises(Exception, match="offset must be a non-negative integer"):
            await command(client, "expenv.data.preview", {"dataset": "curated.customers", "offset": bad})
    for bad in ("customer_id", {"column": ""}, {"column": "customer_id", "descending": "yes"}, [1]):
        with pytest.raises(Exception, match='sort must be {"column"'):
            await command(client, "expenv.data.preview", {"dataset": "curated.customers", "sort": bad})
    with pytest.raises(Exception, match="has no column 'x\"; --'"):
        await command(client, "expenv.data.preview", {"dataset": "curated.customers", "sort": {"column": 'x"; --'}})
    page = await command(client, "expenv.data.preview", {"dataset": "curated.customers", "limit": 2, "offset": 4})
    assert page["offset"] == 4 and [r[0] for r in page["rows"]] == [r[0] for r in (await command(
        client, "expenv.data.preview", {"dataset": "curated.customers", "limit": 6}))["rows"][4:6]]


async def test_hover_on_a_wide_parquet_file_samples_its_first_columns_and_preview_keeps_them_all(client, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "expenv.toml").write_text('[project]\nname = "wide"\n\n[data.raw]\nroots = ["data/raw"]\n')
    (tmp_path / "data" / "raw").mkdir(parents=True)
    names = [f"c{i:02d}" for i in range(12)]
    pq.write_table(pa.table({n: [i * 100 + r for r in range(10)] for i, n in enumerate(names)}),
                   tmp_path / "data" / "raw" / "wide.parquet")
    await start(client, tmp_path)
    text = 'import pandas as pd\nwide = pd.read_parquet("data/raw/wide.parquet")\n'
    uri = open_python(client, tmp_path / "wide.py", text)
    await hover(client, uri, position_of(text, "wide.parquet", 2))   # the first: the schema alone
    value = (await hover(client, uri, position_of(text, "wide.parquet", 2))).contents.value
    schema_part, _, sample_part = value.partition("Sample (5 rows)")
    assert all(f"| {n} | `int64` |" in schema_part for n in names) and "10 rows" in schema_part
    assert "| " + " | ".join(names[:8]) + " |" in sample_part and "c08" not in sample_part
    assert "| " + " | ".join(str(i * 100) for i in range(8)) + " |" in sample_part
    preview = await command(client, "expenv.data.preview", {"dataset": "data/raw/wide.parquet", "limit": 5})
    assert preview["columns"] == names and preview["rows"][0] == [i * 100 for i in range(12)]
