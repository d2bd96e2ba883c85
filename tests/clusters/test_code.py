"""Reading code for clusters: calls that build their own compute and what Spark Connect cannot run."""

from __future__ import annotations

from expenv.services.clusters.code import compute_calls, connected_call, spark_connect_findings

SOURCE = '''from dask.distributed import Client, LocalCluster
cluster = LocalCluster(n_workers=2)
client = Client(cluster)
other = Client()
named = Client("tcp://10.0.0.1:8786")
spark = (SparkSession.builder
         .appName("zürich")
         .getOrCreate())
remote = SparkSession.builder.remote("sc://h:15002").getOrCreate()
import ray; ray.init(); ray.init(address="auto")
'''


def test_compute_calls_are_the_ones_that_start_their_own_compute():
    found = [(c.what, c.line, c.column) for c in compute_calls(SOURCE)]
    assert found == [("LocalCluster(...)", 1, 10), ("Client()", 3, 8),
                     ("SparkSession.builder...getOrCreate()", 5, 9), ("ray.init()", 9, 12)]


def test_connected_calls_keep_the_users_code_and_add_the_address():
    calls = {c.what: c for c in compute_calls(SOURCE)}
    assert connected_call(calls["LocalCluster(...)"], SOURCE, "tcp://127.0.0.1:1") == "'tcp://127.0.0.1:1'"
    assert connected_call(calls["Client()"], SOURCE, "tcp://127.0.0.1:1") == "Client('tcp://127.0.0.1:1')"
    spark = connected_call(calls["SparkSession.builder...getOrCreate()"], SOURCE, "sc://127.0.0.1:2")
    assert spark.endswith('.appName("zürich")\n         .remote(\'sc://127.0.0.1:2\').getOrCreate()')
    assert connected_call(calls["ray.init()"], SOURCE, "ray://127.0.0.1:3") == "ray.init('ray://127.0.0.1:3')"


def test_spark_connect_findings_only_where_code_talks_to_spark_connect_and_in_characters():
    plain = 'spark = SparkSession.builder.getOrCreate()\nrows = spark.sparkContext.parallelize([1])\n'
    assert spark_connect_findings(plain) == []
    assert spark_connect_findings(plain, context='spark = SparkSession.builder.remote("sc://h:1").getOrCreate()')
    text = 'é = SparkSession.builder.remote("sc://h:1").getOrCreate()\nx = é.sparkContext; y = df.rdd\n%time z = 1\n'
    found = [(f.line, f.column, f.end_column, f.message.split(":")[0]) for f in spark_connect_findings(text)]
    assert found == [(1, 6, 18, "sparkContext"), (1, 27, 30, "rdd")]   # characters, not UTF-8 bytes
