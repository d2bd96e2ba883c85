"""Datasets in the lake (raw files) and the warehouse (curated tables), as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Layer(str, Enum):
    RAW = "raw"
    CURATED = "curated"
    FEATURE_STORE = "feature_store"


@dataclass(frozen=True)
class DatasetRef:
    """A dataset as the user named it, resolved.

    `name` is what the user wrote (workspace-relative path, URL, or schema.table);
    `location` is where it really is (absolute path, URL, or the qualified table name).
    """

    layer: Layer
    name: str
    location: str
    format: str  # parquet | csv | json | table


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class DatasetSchema:
    ref: DatasetRef
    columns: list[Column]
    row_count: int | None  # metadata where there is some, a scan of small CSV/JSON files; None when unknown
    size_bytes: int | None = None
    files: int = 1
    partitions: list[str] = field(default_factory=list)  # hive partition keys
    row_count_estimated: bool = False  # True when row_count is a catalog estimate (large PostgreSQL tables)
    snippet: str = ""  # a pandas line that loads it (the editor's "Copy loading snippet")


@dataclass(frozen=True)
class Order:
    """A preview's sort over the whole dataset (not one page): nulls last in both directions."""

    column: str
    descending: bool = False

    @property
    def sql(self) -> str:
        """`ORDER BY` of `column`, quoted (the column is checked against the schema first)."""
        quoted = '"' + self.column.replace('"', '""') + '"'
        return f"ORDER BY {quoted} {'DESC' if self.descending else 'ASC'} NULLS LAST"


@dataclass(frozen=True)
class Preview:
    ref: DatasetRef
    columns: list[str]
    rows: list[list[Any]]  # JSON-safe values
    limit: int
    offset: int = 0  # rows skipped before these (a page of a grid)
    order: Order | None = None  # the rows are this page of the whole dataset sorted so


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    type: str
    nulls: int
    distinct_estimate: int | None
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    top_values: list[tuple[Any, int]] = field(default_factory=list)
    histogram: list[tuple[float, float, int]] = field(default_factory=list)  # (low, high, count)


@dataclass(frozen=True)
class Profile:
    ref: DatasetRef
    row_count: int
    sampled: bool
    sample_rows: int | None
    columns: list[ColumnProfile]
    row_count_estimated: bool = False


@dataclass(frozen=True)
class DatasetEntry:
    """One line of a listing."""

    ref: DatasetRef
    size_bytes: int | None = None


def to_json(value: Any) -> Any:
    """Dataclasses (and enums) to the JSON shape the LSP commands and `--json` share."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_json(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value
