"""The DuckDB warehouse: opened read-only per call, never holding a lock, clear when locked or missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from expenv.domain.errors import DataError
from tests.data.conftest import fill_duckdb, make_service


@pytest.fixture
def warehouse_file(tmp_path):
    (tmp_path / "data").mkdir()
    fill_duckdb(tmp_path / "data" / "wh.duckdb")
    return tmp_path


def hold_write_lock(path):
    """Another process with the file open for writing, as a user's notebook would have it."""
    proc = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                             "print('ready', flush=True); sys.stdin.read()", str(path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_warehouse_locked_by_a_writer_says_so_and_by_whom(warehouse_file):
    service = make_service(warehouse_file, url="duckdb:///data/wh.duckdb")
    writer = hold_write_lock(warehouse_file / "data" / "wh.duckdb")
    try:
        with pytest.raises(DataError) as caught:   # how fast: bench/failures.py
            service.schema("orders")
        message = str(caught.value)
        assert message.startswith("the warehouse data/wh.duckdb (duckdb) is locked by python")
        assert f"PID {writer.pid}" in message and "open for writing" in message
        assert service.find("orders") is None  # hovers stay quiet
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)
    assert service.schema("orders").row_count == 60  # and it works again once the writer is gone


def test_the_service_never_keeps_the_warehouse_locked(warehouse_file):
    service = make_service(warehouse_file, url="duckdb:///data/wh.duckdb")
    assert service.preview("orders", 2).rows
    service.profile("orders")
    writer = subprocess.run([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                             "c.execute('INSERT INTO orders VALUES (999, 1, 1.0)'); c.close()",
                             str(warehouse_file / "data" / "wh.duckdb")], capture_output=True, text=True)
    assert writer.returncode == 0, writer.stderr
    # the file changed, so the cached schema is stale and is read again
    assert service.schema("orders").row_count == 61


def test_a_missing_warehouse(tmp_path):
    service = make_service(tmp_path, url="duckdb:///data/nowhere.duckdb")
    with pytest.raises(DataError, match=r"^the warehouse data/nowhere.duckdb \(duckdb\) does not exist"):
        service.tables()
    assert service.find("orders") is None
    assert not (tmp_path / "data" / "nowhere.duckdb").exists()  # a read-only open creates nothing


def test_a_file_that_is_not_a_duckdb_database(tmp_path):
    (tmp_path / "junk.duckdb").write_text("not a database" * 100)
    service = make_service(tmp_path, url="duckdb:///junk.duckdb")
    with pytest.raises(DataError, match="is not a DuckDB database file"):
        service.schema("orders")


def test_absolute_duckdb_urls(warehouse_file, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    service = make_service(elsewhere, url=f"duckdb:///{warehouse_file}/data/wh.duckdb")
    assert service.schema("curated.customers").row_count == 1200
    assert service.curated.warehouse.display == f"{warehouse_file}/data/wh.duckdb (duckdb)"
