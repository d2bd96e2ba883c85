"""Markdown for hovers: what a data scientist wants to see about a dataset at a glance."""

from __future__ import annotations

from typing import Any

from expenv.domain.data import DatasetSchema, Preview
from expenv.domain.secrets import redact

MAX_COLUMNS = 30
SAMPLE_COLUMNS = 8  # the sample table's width: only these columns are read for a hover
MAX_CELL = 40


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return "?"


def _cell(value: Any) -> str:
    text = "∅" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _rows(n: int | None, estimated: bool = False) -> str:
    if n is None:
        return "? rows (needs a scan)"
    return f"~{n:,} rows (estimate)" if estimated else f"{n:,} rows"


def dataset_hover(schema: DatasetSchema, preview: Preview | None) -> str:
    ref = schema.ref
    head = (f"**{ref.layer.value}** · `{ref.format}` · {_rows(schema.row_count, schema.row_count_estimated)} · {_size(schema.size_bytes)}"
            + (f" · {schema.files} files" if schema.files > 1 else "")
            + (f" · partitioned by {', '.join(schema.partitions)}" if schema.partitions else ""))
    lines = [f"### `{redact(ref.name)}`", head, "", "| column | type |", "|---|---|"]
    for col in schema.columns[:MAX_COLUMNS]:
        lines.append(f"| {_cell(col.name)} | `{col.type}` |")
    if len(schema.columns) > MAX_COLUMNS:
        lines.append(f"| … {len(schema.columns) - MAX_COLUMNS} more | |")
    if preview is None:
        lines += ["", "_Hover again for sample rows, or run **expenv: Preview dataset**._"]
    elif preview.rows:
        shown = preview.columns[:SAMPLE_COLUMNS]
        lines += ["", f"Sample ({len(preview.rows)} rows):", "",
                  "| " + " | ".join(_cell(c) for c in shown) + " |", "|" + "---|" * len(shown)]
        for row in preview.rows:
            lines.append("| " + " | ".join(_cell(v) for v in row[: len(shown)]) + " |")
    return "\n".join(lines)


def error_hover(name: str, message: str) -> str:
    return f"### `{redact(name)}`\n\n⚠ expenv cannot read this dataset: {redact(message)}"


def loading_hover(name: str, layer: str) -> str:
    """What a hover says while the storage or warehouse is slow to answer (lsp/answers.py)."""
    return (f"### `{redact(name)}`\n\n**{layer}** · schema loading… the {'storage' if layer == 'raw' else 'warehouse'} "
            "is slow to answer; hover again in a moment")


def _ttl(seconds: int | None) -> str:
    if not seconds:
        return "no TTL"
    days, rest = divmod(seconds, 86400)
    return f"TTL {days} d" if not rest else f"TTL {seconds // 3600} h"


def _downstream(impact) -> list[str]:
    """Affected services, runs and models, from an impact graph (reverse lineage)."""
    lines = []
    for kind, label in (("feature_service", "services"), ("run", "runs"), ("model_version", "models")):
        names = [n.name for n in impact.of_kind(kind)] if impact is not None else []
        if names:
            shown = ", ".join(f"`{n}`" for n in names[:8]) + (f" … +{len(names) - 8}" if len(names) > 8 else "")
            lines.append(f"- {label}: {shown}")
    return lines or ["- nothing downstream yet"]


def feature_hover(info, impact) -> str:
    view, source = info.view, info.source
    lines = [f"### `{info.ref.view}:{info.ref.feature}`",
             f"**feature** · `{info.dtype}` · view `{view.name}` ({view.kind}) · entity "
             f"{', '.join(f'`{e}`' for e in view.entities) or '—'} · {_ttl(view.ttl_seconds)}"]
    if info.description:
        lines += ["", info.description]
    if source is not None:
        where = source.path or source.table or source.location or ""
        link = f" → {source.dataset_layer} dataset `{source.dataset}`" if source.dataset else ""
        missing = " ⚠ missing" if source.exists is False else ""
        lines += ["", f"Source: `{source.name}` ({source.kind}) `{where}`{missing}{link}"]
    lines += ["", "Downstream (if this view changes):", *_downstream(impact)]
    return "\n".join(lines)


def service_hover(service, impact) -> str:
    lines = [f"### feature service `{service.name}`",
             f"{len(service.features)} features from {', '.join(f'`{v}`' for v in service.views)}"]
    if service.description:
        lines += ["", service.description]
    lines += ["", "| feature | view |", "|---|---|"]
    lines += [f"| {f.feature} | {f.view} |" for f in service.features[:MAX_COLUMNS]]
    lines += ["", "Used by:", *_downstream(impact)]
    return "\n".join(lines)
