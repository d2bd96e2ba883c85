"""Cluster profiles from expenv.toml (located errors for bad fields) and the shared ledger."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from expenv.domain.clusters import ClusterError
from expenv.domain.config import Severity
from expenv.services.clusters import ClusterService
from expenv.services.config import parse_config
from expenv.services.ledger import Ledger, LedgerEntry

PROFILES = """\
[environment]
production_image = "churn-prod:latest"

[clusters.big]
kind = "dask"
backend = "docker"
workers = 3
cores = 1.5
memory = "2Gi"
idle_timeout = 600
secrets = ["s3-creds"]

[clusters.k]
kind = "spark"
backend = "kubernetes"
namespace = "ml"
context = "kind-dev"
image = "other:1"

[clusters.plug]
kind = "dask"
backend = "acme_missing.clusters:Slurm"
"""


def _config(text: str = PROFILES, root: Path = Path("/ws")):
    config, problems = parse_config(text, root)
    assert config is not None, problems
    return config


def test_profile_fields_and_image_default_to_the_production_image(tmp_path):
    service = ClusterService(_config(root=tmp_path))
    big, k = service.profile("big"), service.profile("k")
    assert (big.workers, big.cores, big.memory, big.idle_timeout, big.secrets) == (3, 1.5, "2Gi", 600, ("s3-creds",))
    assert big.image == "churn-prod:latest"
    assert (k.image, k.namespace, k.context) == ("other:1", "ml", "kind-dev")


@pytest.mark.parametrize(("line", "needle"), [
    ('memory = "lots"', "clusters.c.memory must be a memory size"),
    ("cores = 0", "clusters.c.cores must be more than 0"),
    ('cores = "2"', "clusters.c.cores must be a number, not a string"),
    ("idle_timeout = 0", "clusters.c.idle_timeout must be at least 1"),
    ('secrets = "s3"', "clusters.c.secrets must be a list of strings"),
    ('context = ""', "clusters.c.context must not be empty"),
])
def test_bad_cluster_fields_are_located_errors(line, needle):
    config, problems = parse_config(f'[clusters.c]\nkind = "dask"\n{line}\n', Path("/ws"))
    assert config is None
    errors = [p for p in problems if p.severity is Severity.ERROR]
    assert errors[0].line == 3 and needle in errors[0].message, errors


def test_unknown_profile_names_the_close_one(tmp_path):
    with pytest.raises(ClusterError, match="no cluster profile 'bgi'.*did you mean 'big'"):
        ClusterService(_config(root=tmp_path)).launch("bgi")


def test_plugin_backend_that_cannot_be_imported_is_a_clear_error_and_leaves_no_entry(tmp_path):
    service = ClusterService(_config(root=tmp_path))
    with pytest.raises(ClusterError, match="acme_missing.clusters:Slurm.*cannot be imported"):
        service.launch("plug")
    assert service.ledger.entries() == []


def _put_many(state_dir: str, prefix: str, count: int) -> None:
    ledger = Ledger(Path(state_dir))
    for i in range(count):
        ledger.put(LedgerEntry(id=f"{prefix}-{i}", type="kernel", owner=prefix))


def test_ledger_keeps_every_entry_written_by_concurrent_processes(tmp_path):
    procs = [multiprocessing.Process(target=_put_many, args=(str(tmp_path), f"p{n}", 25)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    ids = {e.id for e in Ledger(tmp_path).entries()}
    assert ids == {f"p{n}-{i}" for n in range(3) for i in range(25)}
    doc = json.loads((tmp_path / "ledger.json").read_text())
    assert doc["version"] == 1 and len(doc["entries"]) == 75


def test_ledger_update_remove_and_a_damaged_file_is_set_aside(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.put(LedgerEntry(id="c1", type="cluster", owner="me", profile="p", expires_at=5.0))
    assert ledger.update("c1", lambda e: LedgerEntry(**{**e.as_dict(), "expires_at": 9.0})).expires_at == 9.0
    assert ledger.get("c1").expires_at == 9.0
    assert ledger.update("nope", lambda e: e) is None
    assert ledger.remove("c1") and not ledger.remove("c1")
    with pytest.raises(ValueError, match="type"):
        ledger.put(LedgerEntry(id="x", type="vm", owner="me"))
    (tmp_path / "ledger.json").write_text("{not json")
    assert ledger.entries() == []
    assert list(tmp_path.glob("ledger.damaged-*.json"))
