"""Loading snippets for a dataset, in the dataframe library the file already uses."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from expenv.domain.data import DatasetRef, Layer

_LIBRARIES = (
    ("polars", re.compile(r"^\s*(?:import polars|from polars\b)", re.MULTILINE)),
    ("spark", re.compile(r"^\s*(?:import pyspark|from pyspark\b)|\bspark\.read\b", re.MULTILINE)),
    ("duckdb", re.compile(r"^\s*(?:import duckdb|from duckdb\b)", re.MULTILINE)),
    ("pandas", re.compile(r"^\s*(?:import pandas|from pandas\b)", re.MULTILINE)),
)
_ALIASES = {"polars": r"import polars as (\w+)", "pandas": r"import pandas as (\w+)"}
_DEFAULT_ALIAS = {"polars": "pl", "pandas": "pd"}


def library_in(source: str) -> str:
    """The dataframe library the file already uses (pandas when it uses none)."""
    for name, pattern in _LIBRARIES:
        if pattern.search(source):
            return name
    return "pandas"


def _alias(source: str, library: str) -> str:
    match = re.search(_ALIASES.get(library, r"$^"), source)
    return match.group(1) if match else _DEFAULT_ALIAS.get(library, library)


def _variable(ref: DatasetRef) -> str:
    base = ref.name.rstrip("/").rsplit("/", 1)[-1]
    stem = re.sub(r"\.(parquet|csv|json|ndjson|jsonl)$", "", base).rsplit(".", 1)[-1]  # schema.table -> table
    name = re.sub(r"\W+", "_", stem).strip("_").lower() or "data"
    return f"{name}_df" if not name[0].isdigit() else f"df_{name}"


def loading_snippet(ref: DatasetRef, source: str, warehouse_path: str | None = None) -> str:
    """One or two lines that load `ref` into a dataframe, matching the file's library."""
    lib = library_in(source)
    var = _variable(ref)
    alias = _alias(source, lib)
    name = ref.name
    if ref.layer is Layer.CURATED:
        if lib == "spark":
            return f'{var} = spark.table("{name}")'
        if warehouse_path:  # DuckDB warehouse: read-only, like expenv reads it
            con = f'duckdb.connect("{warehouse_path}", read_only=True)'
            tail = ".pl()" if lib == "polars" else ".df()"
            return f'{var} = {con}.sql("SELECT * FROM {name}"){tail}'
        return f'{var} = {alias if lib == "pandas" else "pd"}.read_sql("SELECT * FROM {name}", engine)'
    fmt = ref.format
    if lib == "duckdb":
        return f"{var} = duckdb.sql(\"SELECT * FROM '{name}'\").df()"
    if lib == "spark":
        reader = {"parquet": "parquet", "csv": "option('header', True).csv", "json": "json"}[fmt]
        return f'{var} = spark.read.{reader}("{name}")'
    if lib == "polars":
        reader = {"parquet": "scan_parquet", "csv": "scan_csv", "json": "scan_ndjson"}[fmt]
        return f'{var} = {alias}.{reader}("{name}").collect()'
    reader = {"parquet": f'read_parquet("{name}")', "csv": f'read_csv("{name}")',
              "json": f'read_json("{name}", lines=True)'}[fmt]
    return f"{var} = {alias}.{reader}"


def statement_end_line(source: str, line: int) -> int:
    """The last line (0-based) of the logical statement that contains `line`."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER) and tok.start[0] - 1 >= line:
                return tok.start[0] - 1
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return line


def indentation_of(source: str, line: int) -> str:
    lines = source.split("\n")
    text = lines[line] if line < len(lines) else ""
    return text[: len(text) - len(text.lstrip())]


def warehouse_file(curated_url: str | None) -> str | None:
    """The DuckDB file of a `duckdb:///path` warehouse URL as written (relative paths are the
    workspace root's, as the snippet runs there), else None: other warehouses have no file."""
    if not curated_url or not curated_url.startswith("duckdb:///"):
        return None
    return curated_url[len("duckdb:///"):].split("?", 1)[0] or None


@dataclass(frozen=True)
class SnippetInsert:
    """Text to insert at the start of `line` (0-based): after the statement naming the dataset."""

    line: int
    text: str


def snippet_insert(source: str, mention, curated_url: str | None) -> SnippetInsert:
    """Where and what "Insert a loading snippet" writes for a dataset `mention` (a DataRead)."""
    warehouse = warehouse_file(curated_url) if mention.ref.layer is Layer.CURATED else None
    text = indentation_of(source, mention.line) + loading_snippet(mention.ref, source, warehouse) + "\n"
    return SnippetInsert(statement_end_line(source, mention.end_line) + 1, text)

