"""`expenv data ls|schema|preview|profile`: the data service from a terminal or CI.

`--json` prints exactly what the LSP commands `expenv.data.*` return (`to_json` of the result).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import typer
from rich.markup import escape
from rich.table import Table

from expenv.cli.output import emit_json, err, out
from expenv.domain.data import Order

data_app = typer.Typer(help="Raw and curated data: ls, schema, preview, profile.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON (the same shape the LSP command returns).")
WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: nearest with expenv.toml).")
DATASET = typer.Argument(..., help="A path under a raw root, an s3:// URL under one, or a curated [schema.]table.")
SPARK = "▁▂▃▄▅▆▇█"


def _data_service(command: str, workspace: Path | None):
    from expenv.services.workspace import WorkspaceSet

    here = (workspace or Path.cwd()).resolve()
    root = next((f for f in (here, *here.parents) if (f / "expenv.toml").is_file()), here)
    ws = WorkspaceSet().add(root)
    if ws.config is None:
        detail = f": {ws.problems[0].message}" if ws.problems else ""
        _fail(command, f"no valid expenv.toml in {ws.root}{detail}")
    return ws.services.data


def _fail(command: str, message: str) -> None:
    err.print(f"[red]expenv data {command}: {escape(message)}[/]")
    raise typer.Exit(1)


def _run(command: str, workspace: Path | None, call: Callable[[Any], Any]) -> Any:
    from expenv.domain.errors import ExpenvError

    service = _data_service(command, workspace)
    try:
        return call(service)
    except ExpenvError as exc:
        _fail(command, str(exc))


def _emit(result: Any) -> None:
    from expenv.domain.data import to_json

    emit_json(to_json(result))


@data_app.command("ls")
def ls(layer: str = typer.Option(None, "--layer", help="raw or curated (default: both)."),
       json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """List the datasets under the raw roots and the warehouse's tables."""
    from expenv.services.data.messages import human_size

    entries = _run("ls", workspace, lambda s: s.list(layer))
    if json_out:
        return _emit(entries)
    table = Table(title="datasets")
    for column in ("layer", "dataset", "format", "size"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for e in entries:
        table.add_row(e.ref.layer.value, escape(e.ref.name), e.ref.format,
                      human_size(e.size_bytes) if e.size_bytes is not None else "")
    out.print(table)


@data_app.command("schema")
def schema(dataset: str = DATASET, json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Columns, types and row count (from metadata: parquet footers, catalogs)."""
    from expenv.services.data.messages import human_size

    result = _run("schema", workspace, lambda s: s.schema(dataset))
    if json_out:
        return _emit(result)
    ref = result.ref
    rows = "unknown (needs a scan)" if result.row_count is None else f"{result.row_count:,}"
    if result.row_count_estimated:
        rows = f"about {rows} (catalog estimate)"
    out.print(f"[bold]{escape(ref.name)}[/] {ref.layer.value} {ref.format} · {escape(ref.location)}")
    details = [f"rows: {rows}"]
    if result.size_bytes is not None:
        details.append(f"size: {human_size(result.size_bytes)}")
    if result.files > 1:
        details.append(f"files: {result.files}")
    if result.partitions:
        details.append(f"partitions: {', '.join(result.partitions)}")
    out.print(escape("  ".join(details)))
    table = Table()
    for column in ("column", "type", "nullable"):
        table.add_column(column)
    for c in result.columns:
        table.add_row(escape(c.name), escape(c.type), "yes" if c.nullable else "no")
    out.print(table)


@data_app.command("preview")
def preview(dataset: str = DATASET, limit: int = typer.Option(20, "--limit", "-n", help="Rows to show."),
            offset: int = typer.Option(0, "--offset", help="Rows to skip first (a page further on)."),
            sort: str = typer.Option(None, "--sort", help="Sort the whole dataset by this column (nulls last)."),
            descending: bool = typer.Option(False, "--descending", help="With --sort: largest first."),
            json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """The first rows, or a page from --offset (reads only the rows up to that page unless sorted)."""
    order = Order(sort, descending) if sort else None
    result = _run("preview", workspace, lambda s: s.preview(dataset, limit, offset, order))
    if json_out:
        return _emit(result)
    span = f"first {len(result.rows)}" if not offset else f"{len(result.rows)} from row {offset + 1}"
    table = Table(title=f"{escape(result.ref.name)} ({span} rows)")
    for name in result.columns:
        table.add_column(escape(name))
    for row in result.rows:
        table.add_row(*(escape("" if v is None else str(v)) for v in row))
    out.print(table)


@data_app.command("profile")
def profile(dataset: str = DATASET, json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Per column: nulls, distinct estimate, min/max, mean/std, top values, histogram."""
    with err.status(f"profiling {escape(dataset)}…"):
        result = _run("profile", workspace, lambda s: s.profile(dataset))
    if json_out:
        return _emit(result)
    rows = f"{result.row_count:,}" + (" (estimate)" if result.row_count_estimated else "")
    sampled = f", profiled on a sample of {result.sample_rows:,} rows" if result.sampled else ""
    out.print(f"[bold]{escape(result.ref.name)}[/] {result.ref.layer.value} · {rows} rows{sampled}")
    stats = Table()
    for column in ("column", "type", "nulls", "distinct≈", "min", "max", "mean", "std"):
        stats.add_column(column, overflow="fold")
    values = Table()
    for column in ("column", "top values (count)", "histogram"):
        values.add_column(column, overflow="fold")
    for c in result.columns:
        stats.add_row(escape(c.name), escape(c.type), f"{c.nulls:,}", _num(c.distinct_estimate), escape(_num(c.min)),
                      escape(_num(c.max)), _num(c.mean), _num(c.std))
        top = ", ".join(f"{_num(v)} ({n:,})" for v, n in c.top_values)
        values.add_row(escape(c.name), escape(top), _sparkline(c.histogram))
    out.print(stats)
    out.print(values)


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        size = abs(value)
        if size and (size >= 1e15 or size < 1e-4):
            return f"{value:.3e}"
        return f"{value:,.1f}" if size >= 100 else f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _sparkline(histogram: list) -> str:
    counts = [b[2] for b in histogram]
    if not counts or max(counts) == 0:
        return ""
    top = max(counts)
    return "".join(SPARK[min(len(SPARK) - 1, round(c / top * (len(SPARK) - 1)))] for c in counts)
