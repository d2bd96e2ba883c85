"""Raw data behind an `s3://` root, served by moto on loopback, read through s3fs."""

from __future__ import annotations

import pytest

from expenv.domain.errors import DataError
from tests.data.conftest import free_port, make_service, s3_options, silent_listener

ROOT = "s3://lake/raw"


@pytest.fixture(scope="module")
def s3_service(s3, tmp_path_factory):
    return make_service(tmp_path_factory.mktemp("s3ws"), roots=(ROOT,), storage_options=s3_options(s3))


def test_list_and_complete_under_an_s3_root(s3_service):
    names = {e.ref.name: e for e in s3_service.list("raw")}
    assert {f"{ROOT}/customers.parquet", f"{ROOT}/usage", f"{ROOT}/payments.csv", f"{ROOT}/events.ndjson"} <= set(names)
    assert names[f"{ROOT}/usage"].ref.format == "parquet" and names[f"{ROOT}/usage"].size_bytes > 0
    assert s3_service.complete_path("s3://") == ["s3://lake/"]
    assert s3_service.complete_path("s3://lake/") == ["s3://lake/raw/"]
    assert s3_service.complete_path("s3://lake/raw/") == [
        f"{ROOT}/bad/", f"{ROOT}/customers.parquet", f"{ROOT}/events.ndjson", f"{ROOT}/payments.csv", f"{ROOT}/usage"]
    assert s3_service.complete_path("s3://lake/raw/pa") == [f"{ROOT}/payments.csv"]


def test_parquet_on_s3(s3_service):
    schema = s3_service.schema(f"{ROOT}/customers.parquet")
    assert schema.row_count == 3000 and schema.ref.location == f"{ROOT}/customers.parquet"
    assert s3_service.preview(f"{ROOT}/customers.parquet", 2).rows[1][:3] == [1, "c1", "GB"]
    hive = s3_service.schema(f"{ROOT}/usage")
    assert hive.row_count == 650 and hive.partitions == ["month"] and hive.files == 2
    assert s3_service.preview(f"{ROOT}/usage", 1).rows == [[0, 0, "2024-01"]]
    profile = s3_service.profile(f"{ROOT}/usage")
    assert profile.row_count == 650 and {c.name for c in profile.columns} == {"customer_id", "sessions", "month"}


def test_csv_and_json_on_s3(s3_service):
    assert s3_service.schema(f"{ROOT}/payments.csv").row_count == 500
    assert s3_service.preview(f"{ROOT}/payments.csv", 2).rows == [[0, 0.0, True], [1, 0.5, False]]
    assert s3_service.profile(f"{ROOT}/events.ndjson").row_count == 40


def test_find_on_s3_needs_no_round_trip_for_files(s3_service):
    assert s3_service.find(f"{ROOT}/customers.parquet").format == "parquet"
    assert s3_service.find(f"{ROOT}/usage").format == "parquet"
    assert s3_service.find("s3://lake/private/secret.csv") is None


@pytest.mark.parametrize("name", ["s3://lake/private/secret.csv", "s3://other/raw/payments.csv",
                                  "s3://lake/raw/../private/secret.csv", "s3://lake/rawfoo/sibling.csv",
                                  "s3a://lake/private/secret.csv", "gs://lake/raw/payments.csv"])
def test_urls_outside_the_root_are_refused(s3_service, name):
    with pytest.raises(DataError) as caught:
        s3_service.preview(name)
    assert str(caught.value) == f'"{name}" is outside the raw data roots (s3://lake/raw)'


def test_bad_files_on_s3(s3_service):
    with pytest.raises(DataError, match="has a ragged row: line 3 has 4 fields"):
        s3_service.schema(f"{ROOT}/bad/ragged.csv")
    with pytest.raises(DataError, match="is not a readable parquet file"):
        s3_service.schema(f"{ROOT}/bad/truncated.parquet")
    with pytest.raises(DataError, match="does not exist"):
        s3_service.schema(f"{ROOT}/nope.parquet")


def test_an_unreachable_endpoint_fails_clearly_and_is_not_asked_again_at_once(tmp_path):
    """How fast it fails is a figure of bench/failures.py; here, what it says and that later
    hovers and listings do not reach for the endpoint again."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    options = {"endpoint_url": endpoint, "key": "AKIAEXPENVKEY", "secret": "very-secret-value"}
    service = make_service(tmp_path, roots=(ROOT,), storage_options=options)

    def fails_clearly(call) -> None:
        with pytest.raises(DataError) as caught:
            call()
        message = str(caught.value)
        assert message.startswith("cannot ") and f"(endpoint {endpoint})" in message
        assert "very-secret-value" not in message and "AKIAEXPENVKEY" not in message

    fails_clearly(lambda: service.schema(f"{ROOT}/customers.parquet"))
    with silent_listener(port) as attempted:   # the endpoint now takes connections and never answers
        fails_clearly(lambda: service.list("raw"))
        fails_clearly(lambda: service.preview(f"{ROOT}/payments.csv"))
        assert service.complete_path("s3://lake/raw/") == []
        assert service.find(f"{ROOT}/usage") is None
        assert not attempted(), "an endpoint that refused moments ago was asked again"


def test_globs_on_s3(s3_service):
    schema = s3_service.schema(f"{ROOT}/usage/*/*.parquet")
    assert schema.row_count == 650 and schema.partitions == ["month"]
    assert s3_service.find(f"{ROOT}/usage/*/*.parquet").format == "parquet"
