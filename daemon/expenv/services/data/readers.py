"""Reading raw datasets: schema and row count from metadata, preview of only the rows shown.

Parquet goes through pyarrow (footers for schema and counts, the first batch for a preview).
CSV and JSON go through DuckDB (its sniffer for the schema, `LIMIT` for a preview); their row
count needs a scan, so it is given only for files under COUNT_TEXT_BELOW bytes.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from expenv.domain.data import Column, Order
from expenv.domain.errors import DataError
from expenv.services.data.jsonsafe import json_row
from expenv.services.data.messages import engine_message, shown
from expenv.services.data.storage import Entry

COUNT_TEXT_BELOW = 50 * 1024 * 1024
_CORRUPT_PARQUET = re.compile(r"magic bytes|deserialize thrift|corrupt|invalid parquet|parquet file size is 0|"
                              r"not a parquet file|footer|unexpected end of (?:file|stream)|Couldn't read", re.IGNORECASE)
_CSV_COLUMNS = re.compile(r"CSV Error on Line: (\d+).*?Expected Number of Columns: (\d+) Found: (\d+)", re.DOTALL)


@dataclass(frozen=True)
class RawDataset:
    """A resolved raw dataset: one file, or a folder of files of one format (hive partitions allowed)."""

    name: str
    format: str
    storage: Any  # LocalStorage | RemoteStorage
    path: str
    is_dir: bool
    files: tuple[Entry, ...]
    partitions: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def fingerprint(self) -> tuple:
        return (self.path, tuple((f.path, f.size, f.version) for f in self.files))

    @property
    def engine_paths(self) -> list[str]:
        return [self.storage.engine_path(f.path) for f in self.files]


def columns_of_arrow(schema) -> list[Column]:
    return [Column(f.name, str(f.type), f.nullable) for f in schema]


def unreadable(ds: RawDataset, exc: BaseException) -> DataError:
    """The error to show for an engine failure while reading `ds`."""
    text = str(exc)
    ragged = _CSV_COLUMNS.search(text)
    if ragged:
        line, expected, found = ragged.groups()
        return DataError(f"{shown(ds.name)} has a ragged row: line {line} has {found} fields, the header has {expected}")
    if ds.format == "parquet" and _CORRUPT_PARQUET.search(text):
        return DataError(f"{shown(ds.name)} is not a readable parquet file (corrupt or truncated): "
                         f"{engine_message(exc)}")
    if isinstance(exc, DataError):
        return exc
    return DataError(f"cannot read {shown(ds.name)}: {engine_message(exc)}")


# ---- parquet (pyarrow) ----------------------------------------------------------------------------

def open_parquet(ds: RawDataset):
    """One handle for the schema and the first rows: a `ParquetFile` (a file) or a pyarrow dataset (a folder)."""
    try:
        if not ds.is_dir:
            import pyarrow.parquet as pq

            fs, path = ds.storage.arrow_filesystem(), ds.files[0].path
            return pq.ParquetFile(path, filesystem=fs) if fs is not None else pq.ParquetFile(path)
        import pyarrow.dataset as pads

        return pads.dataset([f.path for f in ds.files], format="parquet", filesystem=ds.storage.arrow_filesystem(),
                            partitioning="hive" if ds.partitions else None,
                            partition_base_dir=ds.path if ds.partitions else None)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        raise unreadable(ds, exc) from None


def parquet_schema(ds: RawDataset, opened=None) -> tuple[list[Column], int]:
    """Columns and row count, from the footers only (`opened`: from `open_parquet`, to read the file once)."""
    try:
        handle = opened if opened is not None else open_parquet(ds)
        if not ds.is_dir:
            return columns_of_arrow(handle.schema_arrow), handle.metadata.num_rows
        return columns_of_arrow(handle.schema), handle.count_rows()
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise unreadable(ds, exc) from None


def parquet_preview(ds: RawDataset, limit: int, max_columns: int | None = None,
                    opened=None, offset: int = 0) -> tuple[list[str], list[list[Any]]]:
    """`limit` rows after the first `offset` of the first `max_columns` columns: only those columns'
    pages up to the last row shown are decoded."""
    try:
        handle = opened if opened is not None else open_parquet(ds)
        names = (handle.schema_arrow if not ds.is_dir else handle.schema).names
        wanted = names[:max_columns] if max_columns is not None and max_columns < len(names) else None
        names = wanted or names
        if ds.is_dir:
            table = handle.head(offset + limit, columns=wanted).slice(offset)
        elif offset == 0:
            table = next(handle.iter_batches(batch_size=limit, columns=wanted), None)
        else:
            table = _parquet_rows(handle, offset, limit, wanted)
        if table is None:
            return names, []
        columns = [c.to_pylist() for c in table.columns]
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise unreadable(ds, exc) from None
    return names, [json_row(r) for r in zip(*columns)][:limit]


def _parquet_rows(handle, offset: int, limit: int, columns: list[str] | None):
    """Rows offset..offset+limit of one parquet file, skipping whole row groups before the page."""
    import pyarrow as pa

    groups, seen = [], 0
    for index in range(handle.metadata.num_row_groups):
        rows = handle.metadata.row_group(index).num_rows
        if seen + rows > offset:
            groups.append(index)
        if seen + rows >= offset + limit:
            break
        seen += rows
    if not groups:
        return None
    first = sum(handle.metadata.row_group(i).num_rows for i in range(groups[0]))
    table = pa.concat_tables([handle.read_row_group(i, columns=columns) for i in groups])
    return table.slice(offset - first, limit)


# ---- csv and json (DuckDB) ------------------------------------------------------------------------

def duckdb_source(ds: RawDataset) -> tuple[str, list[Any]]:
    """A FROM-clause for `ds` and its parameters (paths are parameters, never SQL text)."""
    hive = "true" if ds.partitions else "false"
    reader = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json_auto"}[ds.format]
    return f"{reader}(?, hive_partitioning = {hive})", [ds.engine_paths]


def text_schema(ds: RawDataset, con) -> tuple[list[Column], int | None]:
    if ds.size == 0:
        raise DataError(f"{shown(ds.name)} is empty")
    source, params = duckdb_source(ds)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall()
        columns = [Column(r[0], r[1], r[2] != "NO") for r in described]
        count = None
        if ds.size < COUNT_TEXT_BELOW:
            count = con.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    except Exception as exc:  # noqa: BLE001 - duckdb.Error and the fsspec errors it carries
        raise unreadable(ds, exc) from None
    if [c.name for c in columns] == ["column0"] and count == 0:
        raise DataError(f"{shown(ds.name)} is empty (no header, no rows)")
    if ds.format == "csv" and len(columns) == 1:
        _check_not_ragged(ds, columns[0].name)
    return columns, count


def text_preview(ds: RawDataset, con, limit: int, offset: int = 0,
                 order: Order | None = None) -> tuple[list[str], list[list[Any]]]:
    """A page through DuckDB: of a CSV or JSON dataset, or of any dataset sorted by `order`."""
    if ds.size == 0:
        raise DataError(f"{shown(ds.name)} is empty")
    source, params = duckdb_source(ds)
    sort = order.sql if order is not None else ""
    try:
        cursor = con.execute(f"SELECT * FROM {source} {sort} LIMIT ? OFFSET ?", [*params, limit, offset])
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except Exception as exc:  # noqa: BLE001
        raise unreadable(ds, exc) from None
    if ds.format == "csv" and len(names) == 1:
        _check_not_ragged(ds, names[0])
    return names, [json_row(r) for r in rows]


def _check_not_ragged(ds: RawDataset, only_column: str) -> None:
    """DuckDB's sniffer falls back to one column when rows disagree on their field count; say which row."""
    delimiter = max((",", ";", "\t", "|"), key=only_column.count)
    if only_column.count(delimiter) == 0:
        return  # a genuine one-column file
    try:
        with ds.storage.open(ds.files[0].path) as raw:
            stream = raw
            if ds.files[0].name.lower().endswith(".gz"):
                import gzip

                stream = gzip.open(raw)
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
            reader = csv.reader(text, delimiter=delimiter)
            header = next(reader, [])
            for number, row in enumerate(reader, start=2):
                if row and len(row) != len(header):
                    raise DataError(f"{shown(ds.name)} has a ragged row: line {number} has {len(row)} fields, "
                                    f"the header has {len(header)}")
                if number > 100_000:
                    break
    except (OSError, csv.Error, UnicodeError):
        return
