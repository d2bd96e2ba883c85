"""One contract, every warehouse backend (Feast's "universal tests"): DuckDB file and PostgreSQL
must answer tables, columns, schema, preview, profile and bad names the same way."""

from __future__ import annotations

import json

import pytest

from expenv.domain.data import Layer, Order, to_json
from expenv.domain.errors import DataError
from tests.data.conftest import PG_PASSWORD, make_service

BACKENDS = ["duckdb", "postgresql"]


@pytest.fixture(params=BACKENDS)
def warehouse(request, lake):
    if request.param == "duckdb":
        url = request.getfixturevalue("duckdb_warehouse")
        default = "main"
    else:
        url = request.getfixturevalue("postgres").url()
        default = "public"
    service = make_service(lake, url=url)
    service.backend, service.default_schema = request.param, default
    return service


def test_tables_lists_tables_and_views_with_their_schema(warehouse):
    d = warehouse.default_schema
    assert warehouse.tables() == ['curated.Monthly Usage', "curated.customers", "curated.premium_customers",
                                  f"{d}.orders"]
    entries = warehouse.list("curated")
    assert [e.ref.name for e in entries] == warehouse.tables()
    assert all(e.ref.layer is Layer.CURATED and e.ref.format == "table" for e in entries)


def test_columns_and_schema_come_from_the_catalog(warehouse):
    assert warehouse.columns("curated.customers") == ["customer_id", "name", "signup", "score", "fee", "premium",
                                                      "note"]
    schema = warehouse.schema("curated.customers")
    assert schema.ref.layer is Layer.CURATED and schema.ref.location == "curated.customers"
    assert schema.row_count == 1200 and not schema.row_count_estimated
    types = {c.name: c.type.upper() for c in schema.columns}
    assert types["customer_id"] == "BIGINT" and types["fee"].replace(" ", "") in ("DECIMAL(10,2)", "NUMERIC(10,2)")
    assert {c.name: c.nullable for c in schema.columns}["customer_id"] is False
    assert warehouse.schema("orders").ref.location == f"{warehouse.default_schema}.orders"
    assert warehouse.schema("orders").row_count == 60


def test_names_fold_case_unless_quoted(warehouse):
    assert warehouse.schema("CURATED.Customers").ref.location == "curated.customers"
    assert warehouse.schema('curated."Monthly Usage"').row_count == 300
    with pytest.raises(DataError, match="no table"):
        warehouse.schema('curated."CUSTOMERS"')


def test_views_have_columns_but_no_row_count_without_running_them(warehouse):
    schema = warehouse.schema("curated.premium_customers")
    assert len(schema.columns) == 7 and schema.row_count is None


def test_preview_reads_only_the_rows_it_shows_as_json(warehouse):
    preview = warehouse.preview("curated.customers", limit=3)
    assert preview.columns == ["customer_id", "name", "signup", "score", "fee", "premium", "note"]
    assert preview.rows[:3] == [
        [0, "c0", "2024-01-01", 0.0, 0.99, True, None],
        [1, "c1", "2024-01-02", 0.5, 1.99, False, "note 1"],
        [2, "c2", "2024-01-03", 1.0, 2.99, False, "note 2"],
    ]  # without ORDER BY the order is the engine's; both give a new table's insertion order
    json.dumps(to_json(preview))
    usage = warehouse.preview('curated."Monthly Usage"', 1)
    assert usage.rows[0][1] == "2024-01-01T12:00:00"


def test_a_sorted_preview_sorts_the_whole_table_with_nulls_last_both_ways(warehouse):
    top = warehouse.preview("curated.customers", 3, order=Order("score", descending=True))
    assert [r[3] for r in top.rows] == [6.0, 6.0, 6.0] and top.order == Order("score", True)
    assert warehouse.preview("curated.customers", 1, order=Order("note")).rows[0][6] == "note 0"
    assert warehouse.preview("curated.customers", 1, order=Order("note", True)).rows[0][6] == "note 3"
    for descending in (False, True):   # 240 nulls, last either way
        tail = warehouse.preview("curated.customers", 240, offset=960, order=Order("note", descending))
        assert [r[6] for r in tail.rows] == [None] * 240
    assert to_json(top)["order"] == {"column": "score", "descending": True}
    for hostile in ('note" DESC; DROP TABLE curated.customers; --', "nope"):
        with pytest.raises(DataError, match="has no column"):
            warehouse.preview("curated.customers", 3, order=Order(hostile))
    assert warehouse.schema("curated.customers").row_count == 1200


def test_profile(warehouse):
    profile = warehouse.profile("curated.customers")
    assert profile.row_count == 1200 and not profile.sampled
    by_name = {c.name: c for c in profile.columns}
    note = by_name["note"]
    assert note.nulls == 240 and note.distinct_estimate == 4
    assert [v for v, _ in note.top_values] == ["note 0", "note 1", "note 2", "note 3"]
    score = by_name["score"]
    assert score.min == 0.0 and score.max == 6.0 and sum(b[2] for b in score.histogram) == 1200
    assert by_name["fee"].mean == pytest.approx(sum(i % 40 + 0.99 for i in range(1200)) / 1200)
    assert by_name["premium"].top_values == [(False, 800), (True, 400)]
    assert by_name["customer_id"].type.upper() == "BIGINT"


@pytest.mark.parametrize("name", ["customers; drop table orders", "orders --", "a.b.c", "orders)", "'orders'"])
def test_bad_names_are_refused_the_same_way(warehouse, name):
    with pytest.raises(DataError, match="is not a table name"):
        warehouse.schema(name)
    assert warehouse.schema("orders").row_count == 60  # nothing was dropped


def test_unknown_tables_say_where_they_were_looked_for(warehouse):
    with pytest.raises(DataError) as caught:
        warehouse.preview("customers")
    assert str(caught.value).startswith(f'no table "customers" in the default schema ({warehouse.default_schema})')
    with pytest.raises(DataError, match='no table "nowhere.orders" in schema nowhere'):
        warehouse.schema("nowhere.orders")


def test_find_resolves_tables_and_nothing_else(warehouse):
    assert warehouse.find("curated.customers").layer is Layer.CURATED
    assert warehouse.find("orders").location == f"{warehouse.default_schema}.orders"
    for text in ("customers", "select 1", "curated.nope", "orders; drop", ""):
        assert warehouse.find(text) is None


def test_connections_are_read_only(warehouse):
    backend = warehouse.curated.warehouse
    if warehouse.backend == "duckdb":
        with backend.connect() as con:
            with pytest.raises(Exception, match="read-only"):
                con.execute("DELETE FROM orders")
    else:
        import sqlalchemy as sa

        with backend.connect() as conn:
            with pytest.raises(sa.exc.SQLAlchemyError, match="read-only transaction"):
                conn.execute(sa.text("DELETE FROM orders"))
    assert warehouse.schema("orders").row_count == 60


def test_no_password_in_any_result(warehouse):
    results = [warehouse.list("curated"), warehouse.schema("curated.customers"),
               warehouse.preview("curated.customers", 5), warehouse.profile("orders")]
    text = json.dumps(to_json(results), default=str)
    assert PG_PASSWORD not in text


def test_a_page_from_an_offset_is_that_slice_of_the_rows(warehouse):
    whole = warehouse.preview("curated.customers", 40).rows
    page = warehouse.preview("curated.customers", 10, offset=25)
    assert page.rows == whole[25:35] and page.offset == 25


def test_a_first_glance_is_the_schema_alone_and_the_next_adds_the_rows(warehouse):
    schema, preview = warehouse.glance("curated.customers", 3, max_columns=2)
    assert preview is None and schema == warehouse.schema("curated.customers")
    schema, preview = warehouse.glance("curated.customers", 3, max_columns=2)
    assert preview.columns == ["customer_id", "name"] and len(preview.rows) == 3
    assert (schema, preview) == warehouse.schema_and_preview("curated.customers", 3, max_columns=2)
