"""A local Dask cluster launched with `expenv cluster up`, used from a notebook (a kernel of
`expenv kernels start --cluster`, running the launch's connection cell) over the example's raw data,
listed, scaled, with a lost worker, and stopped with nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.clusters.conftest import (
    assert_nothing_left,
    expenv,
    labelled_pids,
    ledger_ids,
    run_in_notebook,
    wait_until,
)


@pytest.fixture(scope="module")
def dask_cluster(cluster_example):
    cluster = expenv("cluster", "up", "dask-local", "--json", "-w", str(cluster_example))
    yield cluster
    if cluster["id"] in ledger_ids(cluster_example):
        expenv("cluster", "down", cluster["id"], "--json", "-w", str(cluster_example))
    assert_nothing_left(cluster_example, cluster)


def _listed(root, cluster_id):
    listing = expenv("cluster", "ls", "--json", "-w", str(root))
    return next(c for c in listing["clusters"] if c["id"] == cluster_id)


def _niceness(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[16])


def _worker_pids(cluster):
    return sorted(p["pid"] for p in cluster["resources"]["processes"] if p["role"] == "worker")


def test_up_returns_a_connection_and_the_cluster_outlives_the_command(dask_cluster, cluster_example):
    assert dask_cluster["status"] == "running" and dask_cluster["workers_alive"] == 2
    assert dask_cluster["address"].startswith("tcp://127.0.0.1:")
    assert f'Client("{dask_cluster["address"]}")' in dask_cluster["connection"]["snippet"]
    assert dask_cluster["cell"].endswith(dask_cluster["connection"]["snippet"])
    # The CLI process has exited; the scheduler and both workers still run, labelled with the id.
    assert len(labelled_pids(dask_cluster["id"])) == 3
    # they yield the CPU to the editor and its daemon (process_state.background)
    assert {_niceness(pid) for pid in labelled_pids(dask_cluster["id"])} == {min(os.nice(0) + 10, 19)}
    check = dask_cluster["version_check"]
    assert check["ok"] is True, check   # the kernel is this venv's Python: same packages as the cluster


def test_a_notebook_attached_to_it_computes_over_the_raw_data_on_the_cluster_workers(dask_cluster, cluster_example):
    usage = cluster_example / "data" / "raw" / "usage"
    table = pq.read_table(usage)
    result = run_in_notebook(cluster_example, dask_cluster, f"""
import json, os
import dask.dataframe as dd
df = dd.read_parquet({str(usage)!r})
rows, sessions = len(df), int(df.sessions.sum().compute())
pids = sorted(client.run(os.getpid).values())
print(json.dumps({{"rows": rows, "sessions": sessions, "pids": pids}}))
""")
    assert result["rows"] == table.num_rows
    assert result["sessions"] == sum(table.column("sessions").to_pylist())
    assert result["pids"] == _worker_pids(_listed(cluster_example, dask_cluster["id"]))


def test_the_workers_are_told_the_workspace_run_context(dask_cluster, cluster_example):
    """What MLflow in a task reads: the workspace's experiment and run tags (expenv gave them)."""
    assert not [k for k in os.environ if k.startswith(("MLFLOW_", "EXPENV_RUN"))]
    told = run_in_notebook(cluster_example, dask_cluster, """
import json, os
seen = client.run(lambda: [os.environ.get(k) for k in ("MLFLOW_EXPERIMENT_NAME", "EXPENV_RUN_TAGS",
                                                        "MLFLOW_RUN_CONTEXT")])
print(json.dumps(sorted(seen.values())))
""")
    assert len(told) == 2
    for experiment, tags, run_context in told:
        assert experiment == "churn" and tags == run_context
        assert json.loads(tags)["expenv.runner"] == "local"


def test_ls_shows_status_workers_address_age_and_profile(dask_cluster, cluster_example):
    listed = _listed(cluster_example, dask_cluster["id"])
    assert (listed["status"], listed["profile"], listed["kind"], listed["backend"]) == \
        ("running", "dask-local", "dask", "local")
    assert (listed["workers_alive"], listed["workers_lost"]) == (2, 0)
    assert listed["address"] == dask_cluster["address"] and listed["age_seconds"] > 0
    assert listed["owner"].startswith("cli:")
    assert listed["expires_at"] > listed["started_at"]   # the profile's idle_timeout


def test_the_process_that_asks_the_scheduler_does_not_import_distributed(dask_cluster, cluster_example):
    """`cluster ls` asks the scheduler how many workers it has through the helper process
    (services/clusters/dask_calls.py): the CLI's process, like the daemon's, never imports
    `distributed` (a second of CPU holding the GIL, in the daemon during a launch)."""
    script = ("import sys\nfrom expenv.cli.main import main\n"
              f"sys.argv = ['expenv', 'cluster', 'ls', '--json', '-w', {str(cluster_example)!r}]\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print('distributed imported' if 'distributed' in sys.modules else 'no distributed', file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    listed = next(c for c in json.loads(result.stdout)["clusters"] if c["id"] == dask_cluster["id"])
    assert listed["status"] == "running" and listed["workers_alive"] == 2, listed
    assert result.stderr.strip().endswith("no distributed"), result.stderr[-2000:]


def test_a_dead_worker_is_shown_lost_and_scale_replaces_it(dask_cluster, cluster_example):
    victim = _worker_pids(_listed(cluster_example, dask_cluster["id"]))[0]
    os.kill(victim, signal.SIGKILL)
    lost = wait_until(lambda: (c := _listed(cluster_example, dask_cluster["id"]))["workers_lost"] == 1 and c,
                      60, "the dead worker to be shown lost")
    assert lost["workers_alive"] == 1 and "lost" in lost["detail"]
    scaled = expenv("cluster", "scale", dask_cluster["id"], "3", "--json", "-w", str(cluster_example))
    assert (scaled["workers_alive"], scaled["workers_lost"]) == (3, 0)
    assert victim not in _worker_pids(scaled)
    down = expenv("cluster", "scale", dask_cluster["id"], "1", "--json", "-w", str(cluster_example))
    assert down["workers_alive"] == 1 and len(labelled_pids(dask_cluster["id"])) == 2


def test_bad_scale_and_unknown_id_are_clear_errors(dask_cluster, cluster_example):
    bad = expenv("cluster", "scale", dask_cluster["id"], "-1", "-w", str(cluster_example), check=False)
    assert bad.returncode != 0
    unknown = expenv("cluster", "down", "dask-local-00000000", "-w", str(cluster_example), check=False)
    assert unknown.returncode == 2 and "no cluster 'dask-local-00000000'" in unknown.stderr


def test_attach_says_which_packages_differ_for_another_kernel(dask_cluster, cluster_example, tmp_path):
    # A kernel Python without dask: a venv of the base interpreter, as a drifted kernel would be.
    import subprocess
    import sys

    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True, timeout=120)
    bare = str(tmp_path / "bare" / "bin" / "python")
    attached = expenv("cluster", "attach", dask_cluster["id"], "--python", bare, "--json", "-w", str(cluster_example))
    check = attached["version_check"]
    assert check["ok"] is False and check["python"] == bare
    differing = {d["package"]: d for d in check["differences"]}
    assert differing["distributed"]["kernel"] is None and differing["distributed"]["cluster"]
    assert "distributed missing (kernel)" in check["detail"]


def test_a_kernel_started_with_the_cluster_has_its_address(dask_cluster, cluster_example):
    record = expenv("kernels", "start", "--cluster", dask_cluster["id"], "--json", "-w", str(cluster_example))
    try:
        assert record["cluster_address"] == dask_cluster["address"] and record["state"] == "alive"
        env = open(f"/proc/{record['pid']}/environ", "rb").read().split(b"\0")
        assert f"EXPENV_CLUSTER_ADDRESS={dask_cluster['address']}".encode() in env
    finally:
        expenv("kernels", "stop", record["id"], "--json", "-w", str(cluster_example))


def test_a_cluster_the_ledger_lost_is_listed_as_an_orphan_and_down_stops_it(dask_cluster, cluster_example):
    (cluster_example / ".expenv" / "ledger.json").unlink()   # the ledger is gone (deleted by hand, a crash)
    listing = expenv("cluster", "ls", "--json", "-w", str(cluster_example))
    assert listing["orphans"] == [dask_cluster["id"]]
    orphan = next(c for c in listing["clusters"] if c["id"] == dask_cluster["id"])
    assert orphan["status"] == "orphan" and orphan["address"] == dask_cluster["address"]
    assert "no ledger entry" in orphan["detail"]
    assert expenv("cluster", "down", "--all", "--json", "-w", str(cluster_example)) == {"stopped": [dask_cluster["id"]]}
    assert_nothing_left(cluster_example, dask_cluster)


def test_a_scheduler_call_that_fails_or_loses_its_helper_is_a_clear_error():
    import socket
    import threading
    import time

    from expenv.services.clusters import dask_calls

    with pytest.raises(dask_calls.SchedulerCallError, match="connect"):
        dask_calls.ask_scheduler("tcp://127.0.0.1:9", "identity")   # nothing listens there
    with socket.create_server(("127.0.0.1", 0)) as silent:   # takes the connection, never answers
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        helper = dask_calls._Helper()
        failure = []

        def call() -> None:
            try:
                helper.call(address, "identity", {}, timeout=60)
            except dask_calls.SchedulerCallError as exc:
                failure.append((str(exc), time.monotonic()))

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(3)   # the helper has the call (it imports distributed first)
        helper._proc.kill()
        killed = time.monotonic()
        caller.join(60)
    [(message, when)] = failure
    assert "helper exited" in message and when - killed < 5, message   # not at the call's time limit


def test_a_helper_that_cannot_import_dask_says_so(tmp_path, monkeypatch):
    from expenv.services.clusters import dask_calls

    (tmp_path / "distributed.py").write_text('raise ImportError("no distributed in this environment")\n')
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))   # the helper's `distributed` is this one
    with pytest.raises(dask_calls.SchedulerCallError, match="exited .*no distributed in this environment"):
        dask_calls._Helper().call("tcp://127.0.0.1:9", "identity", {}, timeout=60)
