"""A new feature view for a dataset no feature service covers: the text of
`<repo>/<name>_view.py`, with an entity (the repo's own when a column is its join key), a
FileSource, and one Field per column, typed from the dataset's schema."""

from __future__ import annotations

import os
import re
from pathlib import Path

from expenv.domain.config import ExpenvConfig
from expenv.domain.data import Layer
from expenv.domain.features import FeatureStoreRewrite

TIMESTAMP_NAMES = ("event_timestamp", "timestamp", "event_time", "ts")


def feast_type(column_type: str) -> str:
    """A feast.types name for a pyarrow or SQL column type."""
    t = column_type.lower()
    if any(k in t for k in ("timestamp", "datetime", "date")):
        return "UnixTimestamp"
    if "bool" in t:
        return "Bool"
    if any(k in t for k in ("double", "float64", "decimal", "numeric", "real", "float")):
        return "Float32" if t in ("float", "float32", "real") else "Float64"
    if "int" in t:
        return "Int32" if t in ("int32", "integer", "int", "int16", "int8", "smallint", "tinyint") else "Int64"
    return "String"


def _ident(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_").lower() or "dataset"
    return name if not name[0].isdigit() else f"_{name}"


def _view_name(dataset: str) -> str:
    tail = dataset.rstrip("/").rsplit("/", 1)[-1]
    tail = re.sub(r"\.(parquet|csv|json|ndjson|jsonl)$", "", tail)
    return _ident(tail.rsplit(".", 1)[-1])


def scaffold_view(read, *, catalog, config: ExpenvConfig, lookup=None, note: str = "") -> FeatureStoreRewrite:
    """The scaffold for `read`'s dataset (columns from data lookup when it can tell them)."""
    columns: list[tuple[str, str]] = []
    if lookup is not None:
        try:
            columns = [(c.name, c.type) for c in lookup.schema(read.dataset).columns]
        except Exception:  # noqa: BLE001 - DataError and engine errors: an empty schema to fill in
            columns = []
    name = _view_name(read.dataset)
    repo: Path = catalog.repo
    names = [c for c, _ in columns]
    entity = next((e for e in catalog.entities.values() if e.join_keys and set(e.join_keys) <= set(names)), None)
    timestamp = next((c for c in TIMESTAMP_NAMES if c in names), None) or next(
        (c for c, t in columns if feast_type(t) == "UnixTimestamp"), "event_timestamp")
    imports = ["from datetime import timedelta", "", "from feast import Entity, FeatureView, Field, FileSource"]
    if entity is not None and entity.definition is not None:
        module = Path(entity.definition.path).resolve().relative_to(repo).with_suffix("").as_posix().replace("/", ".")
        variable = _entity_variable(catalog, entity.name)
        if variable:
            imports.append(f"from {module} import {variable}")
            entity_expr, keys = variable, entity.join_keys
        else:
            entity_expr, keys = f"Entity(name={entity.name!r}, join_keys={entity.join_keys!r})", entity.join_keys
    else:
        key = next((c for c in names if c.endswith("_id")), "id")
        entity_name = key[:-3] if key.endswith("_id") else key
        entity_expr, keys = f"Entity(name={entity_name!r}, join_keys=[{key!r}])", [key]
    features = [(c, t) for c, t in columns if c not in keys and c != timestamp]
    types = sorted({feast_type(t) for _, t in features}) or ["Float64"]
    imports.append(f"from feast.types import {', '.join(types)}")

    if read.layer is Layer.RAW and read.location and "://" not in read.location:
        path = Path(os.path.relpath(read.location, repo)).as_posix()
        source_comment = f"# {read.dataset} in the lake"
    else:
        path = f"data/{name}.parquet"
        source_comment = (f"# Export {read.dataset} for Feast's file offline store, e.g. with DuckDB:\n"
                          f"#   COPY (SELECT * FROM {read.dataset}) TO '{(repo / path).as_posix()}' (FORMAT parquet)")
    fields = "\n".join(f"        Field(name={c!r}, dtype={feast_type(t)})," for c, t in features) or \
        "        # Field(name=\"...\", dtype=Float64),"
    text = f'''"""Feature view for {read.dataset} (scaffolded by expenv: check the entity, timestamp and TTL,
then add the view to a feature service and run `expenv features apply`)."""

{chr(10).join(imports)}

{source_comment}
{name}_source = FileSource(
    name="{name}_source",
    path="{path}",
    timestamp_field="{timestamp}",
)

{name} = FeatureView(
    name="{name}",
    entities=[{entity_expr}],
    ttl=timedelta(days=365),
    schema=[
{fields}
    ],
    source={name}_source,
    online=True,
    tags={{"expenv.dataset": "{read.dataset}"}},
)
'''
    root = config.root.resolve()
    target = repo / f"{name}_view.py"
    rel = target.relative_to(root).as_posix() if target.is_relative_to(root) else str(target)
    notes = [note] if note else []
    return FeatureStoreRewrite("scaffold", f"Scaffold a feature view for {read.dataset} ({rel})",
                               new_file=rel, new_file_text=text, notes=notes)


def _entity_variable(catalog, entity: str) -> str | None:
    from expenv.services.features.definitions import DefinitionIndex

    found = DefinitionIndex(catalog.repo).find(entity, "entity")
    return found.variable if found else None
