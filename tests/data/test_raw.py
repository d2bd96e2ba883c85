"""The raw layer on local files: listing, schema from metadata, preview, profile, completion, caching."""

from __future__ import annotations

import os
import time

import pytest

from expenv.domain.data import Layer, Order, to_json
from expenv.domain.errors import DataError
from tests.data.conftest import make_service


def test_list_shows_each_dataset_once_and_skips_hidden_and_non_data(raw_service):
    entries = {e.ref.name: e for e in raw_service.list("raw")}
    assert {"data/raw/customers.parquet", "data/raw/usage", "data/raw/payments.csv", "data/raw/events.ndjson",
            "data/raw/nested/deeper", "data/raw/inner_link.parquet"} <= set(entries)
    assert entries["data/raw/usage"].ref.format == "parquet"
    assert entries["data/raw/payments.csv"].size_bytes == os.path.getsize(
        raw_service.config.root / "data/raw/payments.csv")
    assert not any("hidden" in n or "_SUCCESS" in n or "month=" in n or n.endswith(".md") for n in entries)
    assert all(e.ref.layer is Layer.RAW for e in entries.values())
    # a symlink out of the root is never listed, nor anything under it
    assert not any("link.csv" == n.rsplit("/", 1)[-1] or "linkdir" in n for n in entries)


def test_schema_of_a_parquet_file_comes_from_its_footer(raw_service):
    schema = raw_service.schema("data/raw/customers.parquet")
    assert schema.row_count == 3000 and schema.files == 1 and schema.partitions == []
    assert [(c.name, c.type) for c in schema.columns] == [
        ("customer_id", "int64"), ("name", "string"), ("country", "string"), ("score", "decimal128(21, 1)"),
        ("age", "int64"), ("signup", "timestamp[us]"), ("fee", "decimal128(10, 2)")]
    assert schema.ref.format == "parquet" and schema.size_bytes > 0
    assert schema.ref.location == str((raw_service.config.root / "data/raw/customers.parquet").resolve())


def test_a_hive_partitioned_folder_is_one_dataset(raw_service):
    schema = raw_service.schema("data/raw/usage")
    assert schema.row_count == 650 and schema.files == 2 and schema.partitions == ["month"]
    assert [c.name for c in schema.columns] == ["customer_id", "sessions", "month"]
    preview = raw_service.preview("data/raw/usage", limit=3)
    assert preview.columns == ["customer_id", "sessions", "month"]
    assert preview.rows[0] == [0, 0, "2024-01"]
    assert raw_service.schema("./data/raw/usage/").row_count == 650


def test_csv_and_ndjson_schema_preview_and_count(raw_service):
    csv = raw_service.schema("data/raw/payments.csv")
    assert [(c.name, c.type) for c in csv.columns] == [("customer_id", "BIGINT"), ("amount", "DOUBLE"),
                                                      ("failed", "BOOLEAN")]
    assert csv.row_count == 500  # a small file is counted; a big one says None (needs a scan)
    assert raw_service.preview("data/raw/payments.csv", 2).rows == [[0, 0.0, True], [1, 0.5, False]]
    ndjson = raw_service.schema("data/raw/events.ndjson")
    assert ndjson.ref.format == "json" and ndjson.row_count == 40
    assert raw_service.preview("data/raw/nested/deeper", 5).rows == [[1, "x"], [2, None]]


def test_preview_values_are_json_safe(raw_service):
    preview = raw_service.preview("data/raw/customers.parquet", limit=11)
    assert len(preview.rows) == 11 and preview.limit == 11
    first, tenth = preview.rows[0], preview.rows[10]
    assert first == [0, "c0", "US", 0.0, None, "2024-01-01T00:00:00", 0.0]
    assert tenth[4] is None and preview.rows[1][4] == 1 and tenth[5] == "2024-01-01T00:10:00"
    import json

    json.dumps(to_json(preview))


def test_preview_limit_is_checked(raw_service):
    for bad in (0, -1, 10_001, "5", 2.5, True):
        with pytest.raises(DataError, match="limit must be"):
            raw_service.preview("data/raw/customers.parquet", bad)


def test_profile_of_a_small_dataset_is_exact(raw_service):
    profile = raw_service.profile("data/raw/customers.parquet")
    assert profile.row_count == 3000 and not profile.sampled and profile.sample_rows is None
    by_name = {c.name: c for c in profile.columns}
    age = by_name["age"]
    assert age.type == "int64" and age.nulls == 300 and age.min == 1 and age.max == 49
    assert sum(b[2] for b in age.histogram) == 2700 and len(age.histogram) == 10
    assert age.histogram[0][0] == 1.0 and age.histogram[-1][1] == 49.0
    country = by_name["country"]
    assert country.top_values == [("DE", 1000), ("GB", 1000), ("US", 1000)]
    assert country.distinct_estimate == 3 and country.histogram == [] and country.mean is None
    assert by_name["customer_id"].top_values == []  # unique: top values would all say 1
    assert by_name["score"].mean == pytest.approx(4.5, rel=0.01)


def test_profile_samples_large_data_and_says_so(raw_service):
    from expenv.services.data.profile import profile_relation

    ds, cursor, source, params = raw_service.raw.profile_input(raw_service.roots.locate("data/raw/customers.parquet"))
    try:
        ref = raw_service.resolve("data/raw/customers.parquet")
        profile = profile_relation(cursor, ref, source, params, row_count=3000, sample_rows=1000)
    finally:
        cursor.close()
    assert profile.sampled and profile.row_count == 3000
    assert 700 < profile.sample_rows < 1300
    age = next(c for c in profile.columns if c.name == "age")
    assert sum(b[2] for b in age.histogram) == profile.sample_rows - age.nulls


def test_find_answers_only_for_our_datasets_and_never_raises(raw_service):
    assert raw_service.find("data/raw/customers.parquet").format == "parquet"
    assert raw_service.find("data/raw/usage").format == "parquet"
    for text in ("data/raw", "data/raw/nested", "data/raw/missing.parquet", "data/../secrets.txt", "/etc/passwd",
                 "hello world", "", "x" * 5000, "a\nb", "data/raw/link.csv", "data/raw/nested/readme.md",
                 "customers; drop table x", "s3://lake/raw/x.parquet"):
        assert raw_service.find(text) is None, text
    assert raw_service.find(str(raw_service.config.root / "data/raw/payments.csv")).format == "csv"


def test_resolve_names_what_the_user_wrote(raw_service):
    ref = raw_service.resolve("data/raw/inner_link.parquet")  # a link inside the roots is fine
    assert ref.name == "data/raw/inner_link.parquet" and ref.location.endswith("customers.parquet")


def test_complete_path_is_shell_like(raw_service):
    assert raw_service.complete_path("") == ["data/"]
    assert raw_service.complete_path("da") == ["data/"]
    assert raw_service.complete_path("data/") == ["data/raw/"]
    assert raw_service.complete_path("data/raw/") == [
        "data/raw/bad/", "data/raw/customers.parquet", "data/raw/events.ndjson", "data/raw/inner_link.parquet",
        "data/raw/nested/", "data/raw/payments.csv", "data/raw/usage"]
    assert raw_service.complete_path("data/raw/c") == ["data/raw/customers.parquet"]
    assert raw_service.complete_path("data/raw/nested/") == ["data/raw/nested/deeper"]
    assert raw_service.complete_path("data/../") == ["data/../data/"]
    assert raw_service.complete_path("data/raw/linkdir/") == []
    assert raw_service.complete_path("/etc/") == []


def test_schema_is_cached_until_the_file_changes(tmp_path):
    import duckdb

    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    path = raw / "t.parquet"
    duckdb.connect().execute(f"COPY (SELECT range AS a FROM range(10)) TO '{path}'")
    service = make_service(tmp_path)
    first = service.schema("data/raw/t.parquet")
    first_rows = service.preview("data/raw/t.parquet", 5).rows
    # A repeated hover reads nothing (how fast it is: bench/data_lookup.py): garbage of the same
    # size under the same mtime goes unseen until the file really changes.
    stat = path.stat()
    path.write_bytes(b"\0" * stat.st_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert service.find("data/raw/t.parquet") is not None
    assert service.schema("data/raw/t.parquet") == first
    assert service.preview("data/raw/t.parquet", 5).rows == first_rows
    duckdb.connect().execute(f"COPY (SELECT range AS a, 'x' AS b FROM range(12)) TO '{path}'")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    second = service.schema("data/raw/t.parquet")
    assert first.row_count == 10 and second.row_count == 12 and [c.name for c in second.columns] == ["a", "b"]
    assert service.preview("data/raw/t.parquet", 5).rows[0] == [0, "x"]


def test_an_absolute_root_outside_the_workspace(tmp_path, lake):
    service = make_service(tmp_path, roots=(str(lake / "data" / "raw"),))
    assert service.schema(str(lake / "data/raw/payments.csv")).row_count == 500
    names = [e.ref.name for e in service.list("raw")]
    assert str(lake / "data/raw/payments.csv") in names


def test_glob_patterns_name_one_dataset_as_duckdb_and_spark_read_them(raw_service):
    schema = raw_service.schema("data/raw/usage/*/*.parquet")
    assert schema.row_count == 650 and schema.files == 2 and schema.partitions == ["month"]
    assert raw_service.find("data/raw/usage/month=*/*.parquet").format == "parquet"
    assert raw_service.preview("data/raw/*.csv", 1).rows == [[0, 0.0, True]]
    assert raw_service.find("data/raw/nowhere/*.parquet") is None
    with pytest.raises(DataError, match="matches no data files"):
        raw_service.schema("data/raw/nowhere/*.parquet")
    with pytest.raises(DataError, match="is outside the raw data roots"):
        raw_service.schema("data/raw/*/../../../*.txt")
    with pytest.raises(DataError, match="symbolic link"):
        raw_service.schema("data/raw/linkdir/*.csv")


@pytest.mark.parametrize("name", ["data/raw/customers.parquet", "data/raw/usage", "data/raw/usage/*/*.parquet",
                                  "data/raw/payments.csv", "data/raw/events.ndjson", "data/raw/nested/deeper"])
def test_schema_and_preview_at_once_agree_with_each_asked_alone(lake, name):
    glance = make_service(lake)
    schema, preview = glance.schema_and_preview(name, 3, max_columns=1)
    alone = make_service(lake)
    full = alone.preview(name, 3)
    assert schema == alone.schema(name)
    assert preview.columns == full.columns[:1] and preview.rows == [row[:1] for row in full.rows]
    assert len(full.columns) > 1 and len(preview.rows) == min(3, schema.row_count or 3)
    assert glance.preview(name, 3) == full  # the narrow sample is not what a later preview gets


@pytest.mark.parametrize("name", ["data/raw/customers.parquet", "data/raw/usage", "data/raw/payments.csv",
                                  "data/raw/events.ndjson"])
def test_a_first_glance_is_the_schema_alone_and_the_next_adds_the_rows(lake, name):
    """A hover's first look at a dataset decodes no rows (bench/data_lookup.py: DESCRIBE-level)."""
    service, alone = make_service(lake), make_service(lake)
    schema, preview = service.glance(name, 3, max_columns=2)
    assert preview is None and schema == alone.schema(name)
    assert not service.raw._previews._items   # no rows were read
    assert service.glance(name, 3, max_columns=2) == alone.schema_and_preview(name, 3, max_columns=2)


def test_schema_and_preview_keeps_to_the_roots_and_checks_its_input(raw_service):
    with pytest.raises(DataError, match="is outside the raw data roots"):
        raw_service.schema_and_preview("data/raw/../../expenv.toml")
    with pytest.raises(DataError, match="symbolic link"):
        raw_service.schema_and_preview("data/raw/linkdir/leak.csv")
    with pytest.raises(DataError, match="symbolic link"):
        raw_service.schema_and_preview("data/raw/link.csv")
    for bad in (0, True, "8"):
        with pytest.raises(DataError, match="max_columns"):
            raw_service.schema_and_preview("data/raw/customers.parquet", 5, bad)
    with pytest.raises(DataError, match="limit"):
        raw_service.schema_and_preview("data/raw/customers.parquet", 0)


def test_a_page_from_an_offset_is_that_slice_of_the_rows(raw_service, tmp_path):
    """The preview grid's paging: rows offset..offset+limit, for a parquet file, a hive folder and a CSV."""
    for name in ("data/raw/customers.parquet", "data/raw/usage", "data/raw/payments.csv"):
        whole = raw_service.preview(name, 60).rows
        page = raw_service.preview(name, 20, offset=35)
        assert page.rows == whole[35:55] and page.offset == 35 and page.limit == 20, name
    assert raw_service.preview("data/raw/payments.csv", 5, offset=10_000).rows == []  # past the end: no rows


def test_a_page_of_a_parquet_file_with_many_row_groups_skips_the_groups_before_it(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "data" / "raw").mkdir(parents=True)
    pq.write_table(pa.table({"a": list(range(100))}), tmp_path / "data" / "raw" / "g.parquet", row_group_size=7)
    service = make_service(tmp_path)
    assert service.preview("data/raw/g.parquet", 10, offset=19).rows == [[i] for i in range(19, 29)]
    assert service.preview("data/raw/g.parquet", 10, offset=95).rows == [[i] for i in range(95, 100)]
    assert service.preview("data/raw/g.parquet", 10, offset=100).rows == []


def test_a_sorted_preview_sorts_every_file_of_a_raw_dataset(raw_service):
    by_amount = raw_service.preview("data/raw/payments.csv", 2, order=Order("amount", descending=True))
    assert [r[:2] for r in by_amount.rows] == [[499, 249.5], [498, 249.0]]
    assert raw_service.preview("data/raw/customers.parquet", 1, order=Order("customer_id", True)).rows[0][0] == 2999
    months = raw_service.preview("data/raw/usage", 650, order=Order("month", True)).rows   # two partition files
    assert [r[2] for r in months] == sorted((r[2] for r in months), reverse=True) and months[0][2] != months[-1][2]
    with pytest.raises(DataError, match="sort: data/raw/payments.csv has no column 'amount; --'"):
        raw_service.preview("data/raw/payments.csv", 2, order=Order("amount; --"))


def test_preview_offset_is_checked(raw_service):
    for bad in (-1, "5", 2.5, True):
        with pytest.raises(DataError, match="offset must be"):
            raw_service.preview("data/raw/customers.parquet", 5, bad)
