"""Time to a clear error when a data source is down, against the engine's own client on the same
address (the figures the data tests used to assert).

- an `s3://` root whose endpoint refuses connections: expenv (fsspec with short timeouts, one
  attempt) against s3fs with its defaults (botocore and s3fs retries), capped at PEER_CAP seconds;
- a PostgreSQL warehouse URL on a port where nothing listens: expenv against `psycopg.connect`;
- a DuckDB warehouse held open for writing by another process: expenv (which names the holder)
  against `duckdb.connect(read_only=True)`.

Run: `.venv/bin/python bench/failures.py` (or `make bench`). Prints figures and ratios; asserts
nothing. Under a minute, most of it the s3fs peer.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PEER_CAP = 30.0
SAMPLES = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service(root: Path, **raw):
    from expenv.domain.config import CuratedDataSection, ExpenvConfig, ProjectSection, RawDataSection
    from expenv.services.data import DataService

    url = raw.pop("url", None)
    return DataService(ExpenvConfig(root=root, project=ProjectSection("bench"), raw=RawDataSection(**raw),
                                    curated=CuratedDataSection(url=url)))


def seconds_to_error(call, cap: float | None = None) -> float:
    """Seconds until `call` raises (or `cap`, when it has not by then)."""
    outcome: dict = {}

    def attempt() -> None:
        started = time.perf_counter()
        try:
            call()
        except Exception:  # noqa: BLE001 - any failure is the answer being timed
            pass
        outcome["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(cap)
    return outcome.get("seconds", cap or 0.0)


def s3_figures(tmp: Path) -> tuple[float, float]:
    import s3fs

    endpoint = f"http://127.0.0.1:{_free_port()}"
    options = {"endpoint_url": endpoint, "key": "bench", "secret": "bench"}
    ours = statistics.median(seconds_to_error(
        lambda: _service(tmp, roots=("s3://lake/raw",), storage_options=options).schema("s3://lake/raw/a.parquet"))
        for _ in range(SAMPLES))
    peer = seconds_to_error(lambda: s3fs.S3FileSystem(key="bench", secret="bench", skip_instance_cache=True,
                                                      client_kwargs={"endpoint_url": endpoint}).info("lake/raw/a.parquet"),
                            cap=PEER_CAP)
    return ours, peer


def postgres_figures(tmp: Path) -> tuple[float, float]:
    import psycopg

    port = _free_port()
    url = f"postgresql+psycopg://analyst:bench@127.0.0.1:{port}/warehouse"
    ours = statistics.median(seconds_to_error(lambda: _service(tmp, url=url).schema("curated.customers"))
                             for _ in range(SAMPLES))
    peer = statistics.median(seconds_to_error(
        lambda: psycopg.connect(f"postgresql://analyst:bench@127.0.0.1:{port}/warehouse")) for _ in range(SAMPLES))
    return ours, peer


def locked_duckdb_figures(tmp: Path) -> tuple[float, float]:
    import duckdb

    db = tmp / "data" / "wh.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(db)).execute("CREATE TABLE orders AS SELECT range AS id FROM range(10)").close()
    writer = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); sys.stdin.read()", str(db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if writer.stdout.readline().strip() != "ready":
            raise RuntimeError("the writer process did not open the warehouse")
        ours = statistics.median(seconds_to_error(
            lambda: _service(tmp, url="duckdb:///data/wh.duckdb").schema("orders")) for _ in range(SAMPLES))
        peer = statistics.median(seconds_to_error(lambda: duckdb.connect(str(db), read_only=True))
                                 for _ in range(SAMPLES))
    finally:
        writer.stdin.close()
        writer.wait(30)
    return ours, peer


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="expenv-bench-failures-") as tmp:
        root = Path(tmp)
        s3, s3_peer = s3_figures(root)
        pg, pg_peer = postgres_figures(root)
        duck, duck_peer = locked_duckdb_figures(root)
    capped = " (capped: still retrying)" if s3_peer >= PEER_CAP else ""
    return [
        {"bench": "failures", "figure": "s3 endpoint refusing: time to a clear error", "expenv": f"{s3:.2f} s",
         "peer": f"s3fs defaults {s3_peer:.1f} s{capped}", "ratio": s3 / s3_peer, "target": "expenv ≤ 10 s"},
        {"bench": "failures", "figure": "PostgreSQL down: time to a clear error", "expenv": f"{pg * 1000:.0f} ms",
         "peer": f"psycopg.connect {pg_peer * 1000:.0f} ms", "ratio": pg / pg_peer, "target": "expenv ≤ 10 s"},
        {"bench": "failures", "figure": "DuckDB warehouse locked by a writer: time to a clear error",
         "expenv": f"{duck * 1000:.0f} ms", "peer": f"duckdb.connect(read_only) {duck_peer * 1000:.0f} ms",
         "ratio": duck / duck_peer, "target": "expenv ≤ 5 s"},
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['figure']}: expenv {row['expenv']}, {row['peer']}, ratio {row['ratio']:.2f} "
              f"(target {row['target']})")
