"""Feature-store lineage on a generated registry of 500 feature views: the whole registry's lineage,
one node's lineage, and a hover (`feature(ref)` + `impact(view)`), against Feast's own
`list_feature_views()` measured in the same run.

Run: `.venv/bin/python bench/lineage.py` (or `make bench`). Prints figures and ratios; asserts nothing.
Targets (issue #4): whole-registry lineage ≤ 100 ms once the registry is loaded; hover ≤ 30 ms.

The repo (500 batch views over 100 file sources, 20 on-demand views, 10 entities, 50 feature
services) is generated and registered with `feast apply` once, into .expenv/bench/lineage/.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))

CACHE = REPO / ".expenv" / "bench" / "lineage"
VIEWS, SOURCES, ENTITIES, ODFVS, SERVICES, FEATURES = 500, 100, 10, 20, 50, 10
RUNS = 50

YAML = """project: bench
provider: local
registry: data/registry.db
online_store:
  type: sqlite
  path: data/online_store.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""


def definitions() -> str:
    lines = [
        "from datetime import timedelta", "", "import pandas as pd",
        "from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType",
        "from feast.on_demand_feature_view import on_demand_feature_view",
        "from feast.types import Float64, Int64", "",
    ]
    for e in range(ENTITIES):
        lines.append(f"entity_{e} = Entity(name='entity_{e}', join_keys=['key_{e}'], value_type=ValueType.INT64)")
    for s in range(SOURCES):
        lines.append(f"source_{s} = FileSource(name='source_{s}', path='data/source_{s}.parquet', "
                     "timestamp_field='event_timestamp')")
    for v in range(VIEWS):
        fields = ", ".join(f"Field(name='f_{i}', dtype={'Float64' if i % 2 else 'Int64'})" for i in range(FEATURES))
        lines.append(f"fv_{v} = FeatureView(name='fv_{v}', entities=[entity_{v % ENTITIES}], ttl=timedelta(days=7), "
                     f"schema=[{fields}], source=source_{v % SOURCES}, online=False, tags={{'team': 't{v % 7}'}})")
    for o in range(ODFVS):
        lines += [
            f"@on_demand_feature_view(sources=[fv_{o}], schema=[Field(name='ratio', dtype=Float64)], mode='pandas')",
            f"def odfv_{o}(inputs: pd.DataFrame) -> pd.DataFrame:",
            "    return pd.DataFrame({'ratio': inputs['f_1'] / (inputs['f_3'] + 1)})", "",
        ]
    per = VIEWS // SERVICES
    for s in range(SERVICES):
        members = ", ".join(f"fv_{v}" for v in range(s * per, (s + 1) * per))
        extra = f", odfv_{s}" if s < ODFVS else ""
        lines.append(f"service_{s} = FeatureService(name='service_{s}', features=[{members}{extra}])")
    return "\n".join(lines) + "\n"


def ensure_repo() -> Path:
    repo = CACHE / "repo"
    marker = repo / f".applied-{VIEWS}"
    if marker.exists():
        return repo
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "data").mkdir(exist_ok=True)
    (repo / "feature_store.yaml").write_text(YAML)
    (repo / "definitions.py").write_text(definitions())
    (CACHE / "expenv.toml").write_text('[project]\nname = "bench"\n\n[features]\nrepo = "repo"\n')
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from feast.cli.cli import cli; cli()", "apply"], cwd=repo, check=True,
                   capture_output=True, env={**os.environ, "FEAST_USAGE": "False"})
    print(f"feast apply of {VIEWS} views: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    marker.touch()
    return repo


def timed(fn, runs: int = RUNS) -> tuple[float, float]:
    """(median, p95) seconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def run() -> list[dict]:
    os.environ["FEAST_USAGE"] = "False"
    ensure_repo()
    warnings.simplefilter("ignore")
    from feast import FeatureStore

    from expenv.domain.data import to_json
    from expenv.services.features import FeatureService
    from expenv.services.features.catalog import _graph_of
    from expenv.services.workspace import WorkspaceSet

    config = WorkspaceSet().add(CACHE).config
    features = FeatureService(config)
    started = time.perf_counter()
    catalog = features.catalog()
    load = time.perf_counter() - started

    store = FeatureStore(repo_path=str(CACHE / "repo"))
    assert len(store.list_feature_views()) == VIEWS
    feast_list, _ = timed(store.list_feature_views, 10)

    build, _ = timed(lambda: _graph_of(catalog), 10)
    whole, whole_p95 = timed(lambda: to_json(features.lineage(runs=False)), 10)
    graph = features.lineage(runs=False)
    one, one_p95 = timed(lambda: to_json(features.lineage("feature_view:fv_250", runs=False)))

    def hover():
        features.feature("fv_250:f_3")
        features.impact("feature_view:fv_250", runs=False)

    hov, hov_p95 = timed(hover, 200)
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    peer = f"feast list_feature_views {ms(feast_list)}"
    print(f"registry load (catalog of {len(catalog.views)} views, {len(graph.nodes)} nodes, {len(graph.edges)} edges): "
          f"{ms(load)}", file=sys.stderr)
    return [
        {"bench": "lineage", "figure": f"whole-registry lineage, {VIEWS} views (graph build)", "expenv": ms(build),
         "peer": peer, "ratio": build / feast_list, "target": "≤ 100 ms"},
        {"bench": "lineage", "figure": "whole-registry lineage as JSON (p95)", "expenv": f"{ms(whole)} ({ms(whole_p95)})",
         "peer": peer, "ratio": whole / feast_list, "target": "≤ 100 ms"},
        {"bench": "lineage", "figure": "one node's lineage as JSON (p95)", "expenv": f"{ms(one)} ({ms(one_p95)})",
         "peer": peer, "ratio": one / feast_list, "target": "—"},
        {"bench": "lineage", "figure": "hover: feature(ref) + impact(view) (p95)", "expenv": f"{ms(hov)} ({ms(hov_p95)})",
         "peer": peer, "ratio": hov / feast_list, "target": "≤ 30 ms"},
        {"bench": "lineage", "figure": "registry load into the catalog (once)", "expenv": ms(load),
         "peer": peer, "ratio": load / feast_list, "target": "—"},
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['figure']}: expenv {row['expenv']}, {row['peer']}, ratio {row['ratio']:.2f} (target {row['target']})")
