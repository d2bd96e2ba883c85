"""A local Spark Connect server launched from the editor (`expenv.clusters.launch` on the real
daemon), queried from a notebook (a kernel `expenv kernels start --cluster` started, running the
connection cell the launch returned) over the example's raw data, then stopped from the CLI with
nothing left behind."""

from __future__ import annotations

import pytest

from tests.clusters.conftest import assert_nothing_left, assert_spark_connect_queries_raw_data, expenv, labelled_pids, \
    ledger_ids, port_open
from tests.clusters.daemon_client import Daemon


@pytest.fixture(scope="module")
def spark_cluster(cluster_example):
    daemon = Daemon(cluster_example)
    try:
        answer = daemon.command("expenv.clusters.launch", {"profile": "spark-local"})
    finally:
        daemon.kill()   # the editor goes away; the cluster it launched stays
    assert "result" in answer, answer
    cluster = answer["result"]
    yield cluster
    if cluster["id"] in ledger_ids(cluster_example):
        expenv("cluster", "down", cluster["id"], "--json", "-w", str(cluster_example))
    assert_nothing_left(cluster_example, cluster)


def test_launch_returns_a_spark_connect_connection_bound_to_loopback(spark_cluster):
    assert spark_cluster["status"] == "running"
    assert spark_cluster["address"].startswith("sc://127.0.0.1:")
    assert f'SparkSession.builder.remote("{spark_cluster["address"]}")' in spark_cluster["cell"]
    assert port_open(spark_cluster["resources"]["port"]) and port_open(spark_cluster["resources"]["ui_port"])
    # The daemon that launched it is gone; the server still runs.
    assert labelled_pids(spark_cluster["id"])
    assert spark_cluster["versions"]["packages"]["pyspark"]
    assert spark_cluster["version_check"]["ok"] is True, spark_cluster["version_check"]


def test_a_notebook_attached_to_it_queries_the_raw_data_through_spark_connect(spark_cluster, cluster_example):
    assert_spark_connect_queries_raw_data(spark_cluster, cluster_example)


def test_ls_shows_it_and_scale_says_why_it_cannot(spark_cluster, cluster_example):
    listing = expenv("cluster", "ls", "--json", "-w", str(cluster_example))
    listed = next(c for c in listing["clusters"] if c["id"] == spark_cluster["id"])
    assert (listed["status"], listed["kind"], listed["workers_alive"]) == ("running", "spark", 2)
    assert listed["owner"].startswith("daemon:") and listed["dashboard_url"] == spark_cluster["dashboard_url"]
    refused = expenv("cluster", "scale", spark_cluster["id"], "3", "-w", str(cluster_example), check=False)
    assert refused.returncode == 2 and "local[N] in one JVM" in refused.stderr
