"""The example project that `make up` generates (1e6 usage rows, issue #1): `expenv example create`
against DuckDB writing the same raw volume (customers rows/10 as parquet, usage rows as parquet,
payments rows/2 as csv, labels rows/10 as json) with nothing else: the floor of the raw writes.

Run: `.venv/bin/python bench/example.py` (or `make bench`). Prints figures and ratios; asserts
nothing. About a minute on 2 cores.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = 1_000_000
COLUMNS = "range AS id, range % 997 AS customer_id, TIMESTAMP '2024-01-01' + to_seconds(range) AS ts, random() AS x"


def peer_seconds(out: Path) -> float:
    import duckdb

    out.mkdir(parents=True)
    started = time.perf_counter()
    con = duckdb.connect()
    for name, rows, fmt in (("customers.parquet", ROWS // 10, "parquet"), ("usage.parquet", ROWS, "parquet"),
                            ("payments.csv", ROWS // 2, "csv"), ("labels.json", ROWS // 10, "json")):
        con.execute(f"COPY (SELECT {COLUMNS} FROM range({rows})) TO '{out / name}' (FORMAT {fmt})")
    con.close()
    return time.perf_counter() - started


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="expenv-bench-example-") as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "expenv", "example", "create", str(Path(tmp) / "churn"),
                        "--rows", str(ROWS)], check=True, capture_output=True)
        ours = time.perf_counter() - started
        peer = peer_seconds(Path(tmp) / "peer")
    return [{"bench": "example", "figure": f"`expenv example create --rows {ROWS:,}` (data, warehouse, Feast repo)",
             "expenv": f"{ours:.1f} s", "peer": f"DuckDB raw writes only {peer:.1f} s", "ratio": ours / peer,
             "target": "expenv ≤ 60 s"}]


if __name__ == "__main__":
    for row in run():
        print(f"{row['figure']}: expenv {row['expenv']}, {row['peer']}, ratio {row['ratio']:.2f} "
              f"(target {row['target']})")
