"""Real engines for the data service's tests: generated files, a DuckDB warehouse, a private PostgreSQL
cluster on loopback, and a moto S3 server on loopback. No mocks."""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from expenv.domain.config import CuratedDataSection, ExpenvConfig, ProjectSection, RawDataSection

PG_USER, PG_PASSWORD, PG_DB = "analyst", "s3cret-pw", "warehouse"
S3_KEY, S3_SECRET, BUCKET = "test", "test", "lake"


def make_service(root: Path, roots=("data/raw",), url: str | None = None, storage_options: dict | None = None):
    from expenv.services.data import DataService

    config = ExpenvConfig(root=Path(root), project=ProjectSection("t"),
                          raw=RawDataSection(roots=tuple(roots), storage_options=storage_options or {}),
                          curated=CuratedDataSection(url=url))
    return DataService(config)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def silent_listener(port: int):
    """A server on `port` that accepts and never answers; yields `attempted()`: whether anything
    has connected to it since. Tells "not asked again" apart from "asked, and failed quickly"."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(16)
    sock.setblocking(False)

    def attempted() -> bool:
        try:
            sock.accept()[0].close()
        except BlockingIOError:
            return False
        return True

    try:
        yield attempted
    finally:
        sock.close()


# ---- generated raw files ----------------------------------------------------------------------

def write_lake(root: Path) -> Path:
    """A workspace with every raw format, good and bad files, and an escaping symlink."""
    import duckdb

    raw = root / "data" / "raw"
    (raw / "usage" / "month=2024-01").mkdir(parents=True)
    (raw / "usage" / "month=2024-02").mkdir(parents=True)
    (raw / "bad").mkdir()
    (raw / "nested" / "deeper").mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT range AS customer_id, 'c' || range AS name,
        (['US','GB','DE'])[1 + range % 3] AS country, range % 7 * 1.5 AS score,
        CASE WHEN range % 10 = 0 THEN NULL ELSE range % 50 END AS age,
        TIMESTAMP '2024-01-01' + to_seconds(range * 60) AS signup, CAST(range % 100 AS DECIMAL(10,2)) AS fee
        FROM range(3000)) TO '{raw / "customers.parquet"}' (ROW_GROUP_SIZE 1000)""")
    for month, rows in (("2024-01", 400), ("2024-02", 250)):
        con.execute(f"COPY (SELECT range AS customer_id, range % 9 AS sessions FROM range({rows})) "
                    f"TO '{raw / 'usage' / f'month={month}' / 'part-0.parquet'}'")
    (raw / "usage" / "_SUCCESS").write_text("")
    (raw / "usage" / ".crc").write_text("")
    con.execute(f"COPY (SELECT range AS customer_id, range * 0.5 AS amount, range % 4 = 0 AS failed FROM range(500)) "
                f"TO '{raw / 'payments.csv'}' (HEADER)")
    con.execute(f"COPY (SELECT range AS id, 'e' || range AS kind FROM range(40)) TO '{raw / 'events.ndjson'}' "
                "(FORMAT json)")
    (raw / "nested" / "deeper" / "notes.json").write_text('[{"a": 1, "b": "x"}, {"a": 2, "b": null}]')
    (raw / "nested" / "readme.md").write_text("not data")
    (raw / ".hidden.parquet").write_bytes((raw / "customers.parquet").read_bytes())
    whole = (raw / "customers.parquet").read_bytes()
    (raw / "bad" / "truncated.parquet").write_bytes(whole[: len(whole) // 2])
    (raw / "bad" / "corrupt.parquet").write_bytes(b"PAR1" + os.urandom(2000) + b"PAR1")
    (raw / "bad" / "notparquet.parquet").write_text("id,name\n1,a\n")
    (raw / "bad" / "empty.csv").write_text("")
    (raw / "bad" / "ragged.csv").write_text("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n")
    (raw / "bad" / "late_ragged.csv").write_text("a,b,c\n" + "1,2,3\n" * 30000 + "4,5\n")
    (root / "secrets.txt").write_text("password=hunter2\n")
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "leak.csv").write_text("secret\nhunter2\n")
    (raw / "link.csv").symlink_to(outside / "leak.csv")
    (raw / "linkdir").symlink_to(outside, target_is_directory=True)
    (raw / "inner_link.parquet").symlink_to(raw / "customers.parquet")
    (root / "expenv.toml").write_text('[project]\nname = "lake"\n[data.raw]\nroots = ["data/raw"]\n'
                                      '[data.curated]\nurl = "duckdb:///data/warehouse.duckdb"\n')
    return root


@pytest.fixture(scope="session")
def lake(tmp_path_factory) -> Path:
    return write_lake(tmp_path_factory.mktemp("lake"))


@pytest.fixture(scope="session")
def raw_service(lake):
    return make_service(lake)


# ---- the warehouse data (same rows in DuckDB and PostgreSQL) -----------------------------------

CUSTOMERS = [(i, f"c{i}", dt.date(2024, 1, 1) + dt.timedelta(days=i % 365), (i % 13) * 0.5,
              Decimal(i % 40) + Decimal("0.99"), i % 3 == 0, None if i % 5 == 0 else f"note {i % 4}")
             for i in range(1200)]
ORDERS = [(i, i % 100, round(i * 1.25, 2)) for i in range(60)]
USAGE = [(i % 50, dt.datetime(2024, 1 + i % 12, 1, 12, 0), i % 17) for i in range(300)]

DDL = {
    "duckdb": [
        "CREATE SCHEMA curated",
        "CREATE TABLE curated.customers (customer_id BIGINT NOT NULL, name VARCHAR, signup DATE, score DOUBLE, "
        "fee DECIMAL(10,2), premium BOOLEAN, note VARCHAR)",
        "CREATE TABLE orders (order_id BIGINT, customer_id BIGINT, amount DOUBLE)",
        'CREATE TABLE curated."Monthly Usage" (customer_id BIGINT, month TIMESTAMP, sessions INTEGER)',
        "CREATE VIEW curated.premium_customers AS SELECT * FROM curated.customers WHERE premium",
    ],
    "postgresql": [
        "CREATE SCHEMA curated",
        "CREATE TABLE curated.customers (customer_id BIGINT NOT NULL, name TEXT, signup DATE, score DOUBLE PRECISION, "
        "fee NUMERIC(10,2), premium BOOLEAN, note TEXT)",
        "CREATE TABLE public.orders (order_id BIGINT, customer_id BIGINT, amount DOUBLE PRECISION)",
        'CREATE TABLE curated."Monthly Usage" (customer_id BIGINT, month TIMESTAMP, sessions INTEGER)',
        "CREATE VIEW curated.premium_customers AS SELECT * FROM curated.customers WHERE premium",
    ],
}
INSERTS = [
    ("curated.customers", 7, CUSTOMERS),
    ("orders", 3, ORDERS),
    ('curated."Monthly Usage"', 3, USAGE),
]


def fill_duckdb(path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    for statement in DDL["duckdb"]:
        con.execute(statement)
    import pyarrow as pa

    for table, width, rows in INSERTS:  # executemany is row by row in DuckDB: seconds; Arrow is instant
        batch = pa.table({f"c{i}": pa.array([r[i] for r in rows]) for i in range(width)})
        con.register("batch", batch)
        con.execute(f"INSERT INTO {table} SELECT * FROM batch")
        con.unregister("batch")
    con.close()


@pytest.fixture(scope="session")
def duckdb_warehouse(lake) -> str:
    fill_duckdb(lake / "data" / "warehouse.duckdb")
    return "duckdb:///data/warehouse.duckdb"


# ---- PostgreSQL: a private cluster on loopback, started for the session -------------------------

class PostgresCluster:
    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        if not found and not shutil.which("initdb"):
            pytest.fail("PostgreSQL is not installed: run `make test` (it installs Debian's postgresql), "
                        "or `bash tests/fixtures/ensure-test-services.sh` as root")
        self.bin = Path(found[-1]).parent if found else Path(shutil.which("initdb")).parent
        self.dir = Path(tempfile.mkdtemp(prefix="expenv-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")

    def run(self, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {result.stdout}\n{result.stderr}")
        return result

    def start(self) -> None:
        data = self.dir / "data"
        self.run("initdb", "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                 "--no-sync", "-E", "UTF8", "--locale=C")
        self.run("pg_ctl", "-D", str(data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o",
                 f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c full_page_writes=off", "start")

    def stop(self) -> None:
        try:
            self.run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def admin(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(host=str(self.dir), port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def url(self, password: str = PG_PASSWORD, port: int | None = None) -> str:
        return f"postgresql+psycopg://{PG_USER}:{password}@127.0.0.1:{port or self.port}/{PG_DB}"


def fill_postgres(pg: PostgresCluster) -> None:
    with pg.admin() as con:
        con.execute(f"CREATE ROLE {PG_USER} LOGIN PASSWORD '{PG_PASSWORD}'")
        con.execute(f"CREATE DATABASE {PG_DB}")
    with pg.admin(PG_DB) as con:
        for statement in DDL["postgresql"]:
            con.execute(statement)
        for table, width, rows in INSERTS:
            with con.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * width)})", rows)
        con.execute(f"GRANT USAGE ON SCHEMA curated TO {PG_USER}")
        # More than SELECT on purpose: the service's session must still refuse to write.
        con.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA curated, public TO {PG_USER}")
        con.execute("ANALYZE")


@pytest.fixture(scope="session")
def postgres():
    pg = PostgresCluster()
    try:
        pg.start()
        fill_postgres(pg)
    except Exception:
        pg.stop()
        raise
    yield pg
    pg.stop()


# ---- S3: moto's server on loopback ------------------------------------------------------------

@pytest.fixture(scope="session")
def s3(lake):
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
                          region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    client.create_bucket(Bucket="other")
    raw = lake / "data" / "raw"
    uploads = {
        "raw/customers.parquet": raw / "customers.parquet",
        "raw/usage/month=2024-01/part-0.parquet": raw / "usage" / "month=2024-01" / "part-0.parquet",
        "raw/usage/month=2024-02/part-0.parquet": raw / "usage" / "month=2024-02" / "part-0.parquet",
        "raw/payments.csv": raw / "payments.csv",
        "raw/events.ndjson": raw / "events.ndjson",
        "raw/bad/ragged.csv": raw / "bad" / "ragged.csv",
        "raw/bad/truncated.parquet": raw / "bad" / "truncated.parquet",
        "private/secret.csv": lake / "secrets.txt",
        "rawfoo/sibling.csv": raw / "payments.csv",
    }
    for key, path in uploads.items():
        client.upload_file(str(path), BUCKET, key)
    client.upload_file(str(raw / "payments.csv"), "other", "raw/payments.csv")
    yield endpoint
    server.stop()


def s3_options(endpoint: str) -> dict:
    return {"endpoint_url": endpoint, "key": S3_KEY, "secret": S3_SECRET}


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
