"""Docker Dask launched by expenv *inside the devcontainer*, where the Docker socket is the host's:
bind mounts must name host paths. The notebook's place (the devcontainer) computes on it."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

# The fixtures are tests/docker/conftest.py's: this test shares the session's devcontainer (imported
# into another folder's module, they were a second `devcontainer up` of a second example).
from tests.docker.conftest import dc_exec, dc_python

pytestmark = pytest.mark.timeout(2400)


def test_docker_dask_from_the_devcontainer_mounts_host_paths_and_computes(devcontainer, example_project,
                                                                          docker_client):
    up = dc_exec(example_project, "python", "-m", "expenv", "cluster", "up", "dask-docker", "--json", timeout=600)
    cluster = json.loads(up.stdout)
    try:
        containers = docker_client.containers.list(filters={"label": f"expenv.cluster={cluster['id']}"})
        assert len(containers) == 3
        where = json.loads(dc_python(example_project, "import json, os; print(json.dumps(os.getcwd()))"))
        assert where != str(example_project.resolve())   # the devcontainer sees the workspace elsewhere
        for container in containers:
            mount = next(m for m in container.attrs["Mounts"] if m["Destination"] == f"{where}/data/raw")
            # the source is the host's folder, not the devcontainer's path
            assert mount["Source"] == str((example_project / "data" / "raw").resolve()) and mount["RW"] is False
        usage = example_project / "data" / "raw" / "usage"
        result = json.loads(dc_python(example_project, f"""
import json
import dask.dataframe as dd
from dask.distributed import Client
client = Client({cluster['address']!r}, timeout=30)
df = dd.read_parquet({where!r} + "/data/raw/usage")
print(json.dumps({{"rows": len(df), "sessions": int(df.sessions.sum().compute())}}))
""", timeout=600))
        table = pq.read_table(usage)
        assert result == {"rows": table.num_rows, "sessions": sum(table.column("sessions").to_pylist())}
    finally:
        dc_exec(example_project, "python", "-m", "expenv", "cluster", "down", cluster["id"], timeout=300)
    assert not docker_client.containers.list(all=True, filters={"label": f"expenv.cluster={cluster['id']}"})
