"""PostgreSQL through SQLAlchemy: down, refused, estimates, and passwords kept out of every message."""

from __future__ import annotations

import json

import pytest

from expenv.domain.data import to_json
from expenv.domain.errors import DataError
from tests.data.conftest import PG_DB, PG_PASSWORD, PG_USER, free_port, make_service, silent_listener


def test_postgres_down_fails_clearly_without_the_password(tmp_path, postgres):
    port = free_port()
    service = make_service(tmp_path, url=postgres.url(port=port))
    with pytest.raises(DataError) as caught:   # how fast: bench/failures.py
        service.schema("curated.customers")
    message = str(caught.value)
    assert message.startswith("cannot reach the warehouse postgresql+psycopg://analyst:***@127.0.0.1:")
    assert "refused" in message.lower()
    assert PG_PASSWORD not in message
    # later hovers do not wait for the dead server again: they do not even knock
    with silent_listener(port) as attempted:
        assert service.find("curated.customers") is None
        assert not attempted(), "a hover asked the server that was down moments ago"


def test_a_wrong_password_is_reported_without_either_password(tmp_path, postgres):
    service = make_service(tmp_path, url=postgres.url(password="wrong-pw-123"))
    with pytest.raises(DataError) as caught:
        service.tables()
    assert "password authentication failed" in str(caught.value)
    assert "wrong-pw-123" not in str(caught.value) and PG_PASSWORD not in str(caught.value)


def test_a_plain_postgresql_url_uses_the_installed_driver(tmp_path, postgres):
    url = postgres.url().replace("postgresql+psycopg://", "postgresql://")
    assert "curated.customers" in make_service(tmp_path, url=url).tables()


def test_large_tables_get_the_catalog_estimate_and_say_so(tmp_path, postgres, monkeypatch):
    from expenv.services.data import sql_warehouse

    monkeypatch.setattr(sql_warehouse, "EXACT_COUNT_BELOW", 0)  # as if every table were bigger than that
    schema = make_service(tmp_path, url=postgres.url()).schema("curated.customers")
    assert schema.row_count == 1200 and schema.row_count_estimated  # ANALYZE made the estimate exact here
    assert schema.size_bytes > 0


def test_profile_samples_a_large_table_with_tablesample(tmp_path, postgres, monkeypatch):
    from expenv.services.data import sql_warehouse

    monkeypatch.setattr(sql_warehouse, "SAMPLE_ROWS", 100)
    profile = make_service(tmp_path, url=postgres.url()).profile("curated.customers")
    assert profile.sampled and profile.row_count == 1200 and 0 < profile.sample_rows <= 100


def test_secrets_stay_out_of_errors_and_results(tmp_path, postgres):
    service = make_service(tmp_path, url=postgres.url())
    errors = []
    for call in (lambda: service.schema("curated.nope"), lambda: service.preview("no.such"),
                 lambda: service.profile("x; drop"), lambda: service.schema("public.nothing")):
        with pytest.raises(DataError) as caught:
            call()
        errors.append(str(caught.value))
    results = json.dumps(to_json([service.list(), service.schema("orders"), service.preview("orders", 3)]))
    assert all(PG_PASSWORD not in text for text in [*errors, results])
    assert any("analyst:***@" in e for e in errors)


def test_cancelling_a_profile_cancels_its_query_on_the_postgresql_server(make_workspace, postgres):
    """The profile's Cancel in the editor (window/workDoneProgress/cancel to the real `expenv serve`)
    reaches PostgreSQL through psycopg's cancel: the server runs the query no more."""
    from tests.hardening.test_profile_cancel import _cancel_profile

    with postgres.admin(PG_DB) as con:   # no row ever matches: the first row needs 4e10 comparisons
        con.execute("CREATE VIEW curated.endless AS SELECT a.x FROM generate_series(1, 200000) a(x), "
                    "generate_series(1, 200000) b(x) WHERE a.x * b.x = -1")
        con.execute(f"GRANT SELECT ON curated.endless TO {PG_USER}")
    try:
        root = make_workspace("pg", f'[project]\nname = "pg"\n\n[data.curated]\nurl = "{postgres.url()}"\n')
        profile = _cancel_profile(root, "curated.endless", "rows", "curated.customers")
        assert profile["row_count"] == 1200
        with postgres.admin(PG_DB) as con:
            running = con.execute("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%endless%' "
                                  "AND state = 'active' AND pid <> pg_backend_pid()").fetchone()[0]
        assert running == 0   # cancelled on the server, not only abandoned by the client
    finally:
        with postgres.admin(PG_DB) as con:
            con.execute("DROP VIEW curated.endless")
