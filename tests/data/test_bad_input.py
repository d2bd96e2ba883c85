"""Each bad input of issue #3 gets a clear DataError (and the service keeps answering afterwards)."""

from __future__ import annotations

import pytest

from expenv.domain.errors import DataError

OUTSIDE = [
    "data/../secrets.txt",
    "data/raw/../../secrets.txt",
    "./data/raw/../../../etc/passwd",
    "/etc/passwd",
    "file:///etc/passwd",
    "secrets.csv",
    "data/rawfoo/x.parquet",
]


@pytest.mark.parametrize("name", OUTSIDE)
@pytest.mark.parametrize("method", ["resolve", "schema", "preview", "profile"])
def test_paths_outside_the_roots_are_refused(raw_service, name, method):
    with pytest.raises(DataError) as caught:
        getattr(raw_service, method)(name)
    assert str(caught.value) == f'"{name}" is outside the raw data roots (data/raw)'


@pytest.mark.parametrize("name", ["data/raw/link.csv", "data/raw/linkdir/leak.csv", "data/raw/linkdir"])
def test_symlinks_that_escape_the_roots_are_refused(raw_service, name):
    with pytest.raises(DataError, match="is outside the raw data roots .*symbolic link"):
        raw_service.preview(name)


def test_absolute_paths_inside_a_root_are_fine(raw_service):
    path = raw_service.config.root / "data" / "raw" / "payments.csv"
    assert raw_service.schema(str(path)).row_count == 500


@pytest.mark.parametrize("name", ["data/raw/bad/truncated.parquet", "data/raw/bad/corrupt.parquet",
                                  "data/raw/bad/notparquet.parquet"])
@pytest.mark.parametrize("method", ["schema", "preview", "profile"])
def test_corrupt_or_truncated_parquet(raw_service, name, method):
    with pytest.raises(DataError) as caught:
        getattr(raw_service, method)(name)
    assert str(caught.value).startswith(f'"{name}" is not a readable parquet file (corrupt or truncated)')


@pytest.mark.parametrize("method", ["schema", "preview", "profile"])
def test_empty_csv(raw_service, method):
    with pytest.raises(DataError, match='^"data/raw/bad/empty.csv" is empty'):
        getattr(raw_service, method)("data/raw/bad/empty.csv")


@pytest.mark.parametrize("method", ["schema", "preview", "profile"])
def test_csv_with_a_ragged_row_says_which_line(raw_service, method):
    with pytest.raises(DataError) as caught:
        getattr(raw_service, method)("data/raw/bad/ragged.csv")
    assert str(caught.value) == '"data/raw/bad/ragged.csv" has a ragged row: line 3 has 4 fields, the header has 3'


def test_csv_with_a_ragged_row_past_the_sniffed_sample(raw_service):
    with pytest.raises(DataError) as caught:
        raw_service.schema("data/raw/bad/late_ragged.csv")
    assert str(caught.value) == ('"data/raw/bad/late_ragged.csv" has a ragged row: line 30002 has 2 fields, '
                                 "the header has 3")
    assert raw_service.preview("data/raw/bad/late_ragged.csv", 3).rows == [[1, 2, 3]] * 3  # only what it shows


def test_missing_files_and_folders_that_are_not_datasets(raw_service):
    with pytest.raises(DataError, match='"data/raw/nope.parquet" does not exist'):
        raw_service.schema("data/raw/nope.parquet")
    with pytest.raises(DataError, match="is a folder of datasets, not a dataset"):
        raw_service.schema("data/raw/nested")
    with pytest.raises(DataError, match="is a folder of datasets"):
        raw_service.schema("data/raw")
    with pytest.raises(DataError, match="is not a data file"):
        raw_service.schema("data/raw/nested/readme.md")


@pytest.mark.parametrize("name", [
    "customers; drop table x", "customers --", "a.b.c.d", "'customers'", 'x"; drop table y; --',
    "customers)", "pg_sleep(10)", "a b", '"a""b"', "1table",
])
def test_sql_in_a_table_name_is_refused_before_any_query(tmp_path, name):
    from tests.data.conftest import make_service

    # The warehouse does not even exist: the name is refused before anything is opened.
    service = make_service(tmp_path, url="duckdb:///missing.duckdb")
    with pytest.raises(DataError, match="is not a table name"):
        service.schema(name)
    assert service.find(name) is None


def test_the_service_keeps_answering_after_errors(raw_service):
    for name in OUTSIDE + ["data/raw/bad/corrupt.parquet", "data/raw/bad/ragged.csv"]:
        with pytest.raises(DataError):
            raw_service.preview(name)
    assert raw_service.preview("data/raw/customers.parquet", 1).rows[0][0] == 0


def test_no_warehouse_configured(raw_service):
    with pytest.raises(DataError, match=r"no warehouse is configured: set \[data.curated\] url"):
        raw_service.schema("customers")
    assert raw_service.tables() == [] and raw_service.find("customers") is None
