"""Column profiles computed by DuckDB over any relation it can read (files, tables, Arrow).

The relation is copied once into a temporary table: whole when it has at most SAMPLE_ROWS rows,
else a seeded Bernoulli sample of about SAMPLE_ROWS rows (the profile then says `sampled` and the sample size;
nulls, top-value counts and histogram counts are counts in the sample). Then one aggregate pass
gives nulls, distinct estimates (HyperLogLog), min/max, mean/std; a second gives the numeric
histograms; top values come from a GROUP BY per column, skipped for near-unique columns (whose top
values would all have a count of one).
"""

from __future__ import annotations

import math
import re
from typing import Any

from expenv.domain.data import ColumnProfile, DatasetRef, Profile
from expenv.services.data.jsonsafe import json_value
from expenv.services.data.sqlnames import quote_ident

SAMPLE_ROWS = 1_000_000
TOP = 5
BINS = 10
TABLE = "__expenv_profile"
_NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL(\(.*\))?)$")
_FLOATING = re.compile(r"^(FLOAT|DOUBLE|REAL)$")
_NESTED = re.compile(r"(\[\d*\]$|^(STRUCT|MAP|UNION|LIST)\b)")


def profile_relation(con, ref: DatasetRef, source: str, params: list[Any] | None = None, *,
                     row_count: int | None = None, types: dict[str, str] | None = None,
                     sample_rows: int = SAMPLE_ROWS) -> Profile:
    """Profile `SELECT * FROM {source}` (source is SQL we built; params carry user values)."""
    params = list(params or [])
    if row_count is None:
        row_count = con.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    sampled = row_count > sample_rows
    # Bernoulli (row-level, seeded) runs in parallel; a reservoir of fixed size is 5x slower here.
    sample = f" USING SAMPLE {100.0 * sample_rows / row_count:.6f}% (bernoulli, 42)" if sampled else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TABLE} AS SELECT * FROM {source}{sample}", params)
    try:
        columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {TABLE}").fetchall()]
        profiles, rows = _profile_table(con, columns, types or {})
    finally:
        con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return Profile(ref, row_count, sampled, rows if sampled else None, profiles)


def _profile_table(con, columns: list[tuple[str, str]], types: dict[str, str]) -> tuple[list[ColumnProfile], int]:
    selects = ["count(*)"]
    for name, dtype in columns:
        q = quote_ident(name)
        nested = bool(_NESTED.search(dtype))
        numeric = bool(_NUMERIC.match(dtype))
        selects.append(f"count({q})")
        selects.append("NULL" if nested else f"approx_count_distinct({q})")
        selects.append("NULL" if nested else f"min({q})")
        selects.append("NULL" if nested else f"max({q})")
        selects.append(f"avg(CAST({q} AS DOUBLE))" if numeric else "NULL")
        selects.append(f"stddev_samp(CAST({q} AS DOUBLE))" if numeric else "NULL")
    stats = con.execute(f"SELECT {', '.join(selects)} FROM {TABLE}").fetchone()
    rows = stats[0]
    per_column = [stats[1 + 6 * i: 7 + 6 * i] for i in range(len(columns))]
    histograms = _histograms(con, columns, per_column)
    out = []
    for (name, dtype), (non_null, distinct, lo, hi, mean, std) in zip(columns, per_column):
        nested = bool(_NESTED.search(dtype))
        unique_ish = distinct is not None and non_null > 20 and distinct >= 0.9 * non_null
        top = [] if nested or unique_ish or non_null == 0 else _top_values(con, name)
        out.append(ColumnProfile(
            name=name, type=types.get(name, dtype), nulls=rows - non_null,
            distinct_estimate=int(distinct) if distinct is not None else None,
            min=json_value(lo), max=json_value(hi), mean=_finite(mean), std=_finite(std),
            top_values=top, histogram=histograms.get(name, [])))
    return out, rows


def _histograms(con, columns, per_column) -> dict[str, list[tuple[float, float, int]]]:
    exprs, params, bounds = [], [], []
    for (name, dtype), (non_null, _d, lo, hi, _m, _s) in zip(columns, per_column):
        if not _NUMERIC.match(dtype) or non_null == 0:
            continue
        lo_f, hi_f = _finite(_as_float(lo)), _finite(_as_float(hi))
        if lo_f is None or hi_f is None:
            continue
        width = (hi_f - lo_f) / BINS
        q = f"CAST({quote_ident(name)} AS DOUBLE)"
        # least() skips NULLs in DuckDB, so NULLs must be filtered out, not passed through.
        keep = f" FILTER (WHERE isfinite({q}))" if _FLOATING.match(dtype) else f" FILTER (WHERE {q} IS NOT NULL)"
        if width > 0:
            exprs.append(f"histogram(least(CAST(floor(({q} - ?) / ?) AS INTEGER), {BINS - 1})){keep}")
            params += [lo_f, width]
        else:
            exprs.append(f"histogram(0){keep}")
        bounds.append((name, lo_f, width))
    if not exprs:
        return {}
    maps = con.execute(f"SELECT {', '.join(exprs)} FROM {TABLE}", params).fetchone()
    out = {}
    for (name, lo, width), counts in zip(bounds, maps):
        counts = dict(counts or {})
        bins = BINS if width > 0 else 1
        out[name] = [(_edge(lo + i * width), _edge(lo + (i + 1) * width if width > 0 else lo), int(counts.get(i, 0)))
                     for i in range(bins)]
    return out


def _top_values(con, name: str) -> list[tuple[Any, int]]:
    q = quote_ident(name)
    rows = con.execute(f"SELECT {q}, count(*) AS n FROM {TABLE} WHERE {q} IS NOT NULL "
                       f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT {TOP}").fetchall()
    return [(json_value(v), int(n)) for v, n in rows]


def _edge(value: float) -> float:
    return float(f"{value:.12g}")  # 1999.9, not 1999.9000000000001


def _as_float(value: Any) -> float | None:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
