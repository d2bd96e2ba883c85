"""Pure parts of the data service: root containment, table names, JSON values, backend choice, imports."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from expenv.domain.errors import DataError
from expenv.services.data.curated import Catalog, TableInfo, open_warehouse
from expenv.services.data.jsonsafe import json_value
from expenv.services.data.paths import RawRoots, format_of, looks_like_path
from expenv.services.data.sqlnames import parse_table_name, quote_ident


# ---- roots ----------------------------------------------------------------------------------

@pytest.fixture
def roots(tmp_path):
    (tmp_path / "data" / "raw").mkdir(parents=True)
    return RawRoots(tmp_path, ["data/raw", "s3://lake/raw/", "s3a://lake2"])


@pytest.mark.parametrize("name", ["data/raw/x.parquet", "./data/raw/a/b.csv", "data/raw/a/../b.csv", "data/raw",
                                  "s3://lake/raw/x.parquet", "s3://lake/raw", "s3a://lake/raw/y/z.csv",
                                  "s3://lake2/anything.json"])
def test_inside(roots, name):
    assert roots.locate(name).name == name


@pytest.mark.parametrize("name", ["data/../x.csv", "data/raw/../../x.csv", "data/rawx/a.csv", "/etc/passwd",
                                  "../outside.csv", "s3://lake/rawx/a.csv", "s3://lake/raw/../a.csv",
                                  "s3://other/raw/a.csv", "s3://lake", "gs://lake/raw/a.csv", "file:///etc/passwd"])
def test_outside(roots, name):
    with pytest.raises(DataError, match="is outside the raw data roots"):
        roots.locate(name)


def test_urls_with_a_query_are_refused(roots):
    with pytest.raises(DataError, match="query"):
        roots.locate("s3://lake/raw/x.parquet?versionId=1")


def test_locations_are_normalised(roots, tmp_path):
    loc = roots.locate("data/raw/a/../b.csv")
    assert loc.path == str(tmp_path / "data" / "raw" / "b.csv")
    assert roots.locate("s3a://lake/raw//x/./y.csv").url == "s3://lake/raw/x/y.csv"


def test_a_root_that_is_itself_a_symlink(tmp_path):
    real = tmp_path / "mnt" / "lake"
    real.mkdir(parents=True)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "lake").symlink_to(real, target_is_directory=True)
    roots = RawRoots(tmp_path / "ws", ["lake"])
    loc = roots.locate("lake/x.csv")
    assert loc.path == str(real / "x.csv")
    assert roots.display(loc) == "lake/x.csv"


def test_formats_and_path_looks():
    assert [format_of(n) for n in ("a.parquet", "a.PQ", "a.csv.gz", "a.tsv", "a.ndjson", "a.jsonl.zst", "a.txt",
                                   "a")] == ["parquet", "parquet", "csv", "csv", "json", "json", None, None]
    assert looks_like_path("data/x") and looks_like_path("x.csv") and looks_like_path("s3://b/k")
    assert not looks_like_path("curated.customers") and not looks_like_path("orders")


# ---- table names ------------------------------------------------------------------------------

def test_table_names():
    assert str(parse_table_name("orders")) == "orders"
    name = parse_table_name(' curated . "Monthly Usage" ')
    assert (name.schema, name.table, name.schema_quoted, name.table_quoted) == ("curated", "Monthly Usage", False, True)
    assert quote_ident('we"ird') == '"we""ird"'


@pytest.mark.parametrize("text", ["", "a;b", "a.b.c", "a--", "a/*x*/", '"a"b"', "'a'", "a b", "1a", "a.", ".a",
                                  "a(1)", '"a;drop"', "x" * 300, "a\nb", "ä"])
def test_table_names_refused(text):
    with pytest.raises(DataError, match="is not a table name"):
        parse_table_name(text)


def test_catalog_lookup_folds_plain_names_only():
    catalog = Catalog([TableInfo("curated", "Customers"), TableInfo("main", "orders"), TableInfo("a", "T"),
                       TableInfo("a", "t")], "main")
    assert catalog.lookup(parse_table_name("ORDERS")).name == "orders"
    assert catalog.lookup(parse_table_name("curated.customers")).name == "Customers"
    assert catalog.lookup(parse_table_name('curated."customers"')) is None
    assert catalog.lookup(parse_table_name("a.t")).name == "t"  # an exact match wins over folding
    assert catalog.lookup(parse_table_name("A.T")) is None  # two candidates: ambiguous, not guessed


# ---- JSON values ----------------------------------------------------------------------------------

def test_json_values():
    values = [None, True, 3, 1.5, float("nan"), float("inf"), "x", Decimal("1.25"), Decimal("NaN"),
              dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), dt.time(1, 2),
              dt.timedelta(hours=1), b"\x00ab", {"k": [1, Decimal("2")]}, (1, 2)]
    out = [json_value(v) for v in values]
    assert out == [None, True, 3, 1.5, None, None, "x", 1.25, None, "2024-01-02", "2024-01-02T03:04:05+00:00",
                   "01:02:00", "1:00:00", "b'\\x00ab'", {"k": [1, 2.0]}, [1, 2]]
    json.dumps(out, allow_nan=False)
    assert len(json_value("y" * 5000)) == 1001


def test_numpy_and_pandas_scalars():
    import numpy as np
    import pandas as pd

    assert json_value(np.int64(3)) == 3 and json_value(np.float32(math.nan)) is None
    assert json_value(pd.Timestamp("2024-01-01")) == "2024-01-01T00:00:00" and json_value(pd.NaT) is None


# ---- choosing a warehouse backend ------------------------------------------------------------------

class ToyWarehouse:
    """A third party's warehouse, loaded from `package.module:Class`."""

    def __init__(self, url, workspace):
        self.url, self.workspace, self.display = url, workspace, "toy"

    def fingerprint(self):
        return 1

    def catalog(self):
        return Catalog([TableInfo("toys", "blocks")], "toys")


def test_warehouse_by_url_scheme(tmp_path):
    from expenv.services.data.duckdb_warehouse import DuckDBWarehouse
    from expenv.services.data.sql_warehouse import SqlAlchemyWarehouse

    assert isinstance(open_warehouse("duckdb:///w.duckdb", tmp_path), DuckDBWarehouse)
    assert isinstance(open_warehouse("postgresql://u:p@h/db", tmp_path), SqlAlchemyWarehouse)
    toy = open_warehouse("tests.data.test_units:ToyWarehouse", tmp_path)
    assert isinstance(toy, ToyWarehouse) and toy.workspace == tmp_path
    with pytest.raises(DataError, match="cannot load"):
        open_warehouse("tests.data.nowhere:Nothing", tmp_path)
    with pytest.raises(DataError, match="is not a URL"):
        open_warehouse("warehouse.duckdb", tmp_path)


def test_a_plugin_warehouse_serves_names(tmp_path):
    from tests.data.conftest import make_service

    service = make_service(tmp_path, url="tests.data.test_units:ToyWarehouse")
    assert service.tables() == ["toys.blocks"] and service.find("blocks").location == "toys.blocks"


def test_sqlite_through_sqlalchemy_is_opened_read_only(tmp_path):
    import sqlite3

    from tests.data.conftest import make_service

    con = sqlite3.connect(tmp_path / "w.db")
    con.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"b{i}") for i in range(7)])
    con.commit()
    con.close()
    service = make_service(tmp_path, url="sqlite:///w.db")
    assert service.schema("t").row_count == 7 and service.preview("t", 2).rows == [[0, "b0"], [1, "b1"]]
    import sqlalchemy as sa

    with service.curated.warehouse.connect() as conn:
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            conn.execute(sa.text("DELETE FROM t"))


def test_importing_the_service_loads_no_engine():
    code = ("import sys, json\n"
            "from pathlib import Path\n"
            "import expenv.services.data, expenv.cli.data\n"
            "from expenv.domain.config import ExpenvConfig, ProjectSection, RawDataSection, CuratedDataSection\n"
            "s = expenv.services.data.DataService(ExpenvConfig(root=Path('.'), project=ProjectSection('x'),"
            " raw=RawDataSection(roots=('data/raw', 's3://b/p')), curated=CuratedDataSection('duckdb:///w.duckdb')))\n"
            "s.find('data/raw/x.parquet'); s.find('s3://b/p/x.parquet'); s.complete_path('data/')\n"
            "heavy = ['duckdb', 'pyarrow', 'pandas', 'sqlalchemy', 'fsspec', 's3fs', 'botocore', 'numpy']\n"
            "print(json.dumps([m for m in heavy if m in sys.modules]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parent)
    assert json.loads(result.stdout) == []


def test_data_service_implements_the_data_lookup_interface_exactly():
    import inspect

    from expenv.services.data import DataService
    from expenv.services.data.interface import DataLookup

    members = [n for n, v in vars(DataLookup).items() if callable(v) and not n.startswith("_")]
    assert set(members) == {"resolve", "find", "list", "schema", "preview", "schema_and_preview", "glance", "profile",
                            "complete_path", "tables", "columns"}
    for name in members:
        expected = inspect.signature(getattr(DataLookup, name))
        actual = inspect.signature(getattr(DataService, name))
        assert list(actual.parameters) == list(expected.parameters), name
        assert [p.default for p in actual.parameters.values()] == [p.default for p in expected.parameters.values()]
