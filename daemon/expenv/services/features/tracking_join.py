"""The MLflow side of lineage: runs that name a feature service in their tags, and the model
versions registered from them. Read through MLflow's own client (imported on first use).

A run names its feature service with expenv's tag `expenv.feature_service`; Feast's own MLflow
integration writes `feast.feature_service`, which is read too. Several services may be given,
comma-separated.
"""

from __future__ import annotations

from expenv.domain.features import NODE_FEATURE_SERVICE, NODE_MODEL_VERSION, NODE_RUN, LineageEdge, LineageGraph, LineageNode
from expenv.domain.secrets import redact, without_credentials
from expenv.domain.tracking import TAG_FEATURE_SERVICE, TAG_GIT_BRANCH, TAG_PIPELINE

SERVICE_TAGS = (TAG_FEATURE_SERVICE, "feast.feature_service")
MAX_RUNS = 1000


def services_of(tags: dict[str, str]) -> list[str]:
    names: list[str] = []
    for tag in SERVICE_TAGS:
        for name in (tags.get(tag) or "").split(","):
            if name.strip() and name.strip() not in names:
                names.append(name.strip())
    return names


def runs_graph(uri: str, known_services: set[str]) -> LineageGraph:
    """Runs that used a feature service and the model versions made from them, as lineage.

    Raises whatever MLflow raises; the caller decides how to report it."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiments = {e.experiment_id: e.name for e in client.search_experiments(max_results=1000)}
    runs: dict[str, object] = {}
    if experiments:
        for tag in SERVICE_TAGS:
            for r in client.search_runs(list(experiments), filter_string=f"tags.`{tag}` LIKE '_%'",
                                        max_results=MAX_RUNS):
                runs.setdefault(r.info.run_id, r)
    nodes: list[LineageNode] = []
    edges: list[LineageEdge] = []
    base = without_credentials(uri).rstrip("/")  # a link the browser opens: it asks for credentials itself
    for run_id, r in runs.items():
        services = services_of(dict(r.data.tags))
        if not services:
            continue
        rid = f"{NODE_RUN}:{run_id}"
        url = f"{base}/#/experiments/{r.info.experiment_id}/runs/{run_id}" if base.startswith("http") else None
        nodes.append(LineageNode(rid, NODE_RUN, r.info.run_name or run_id, {
            "run_id": run_id, "experiment": experiments.get(r.info.experiment_id), "status": r.info.status,
            "start_time": r.info.start_time, "url": url, "branch": r.data.tags.get(TAG_GIT_BRANCH),
            "pipeline": r.data.tags.get(TAG_PIPELINE), "metrics": dict(r.data.metrics)}))
        for name in services:
            sid = f"{NODE_FEATURE_SERVICE}:{name}"
            if name not in known_services:  # a service the registry no longer has: still show the run
                nodes.append(LineageNode(sid, NODE_FEATURE_SERVICE, name, {"registered": False}))
            edges.append(LineageEdge(sid, rid, "training_run"))
    if runs:
        for mv in client.search_model_versions(max_results=MAX_RUNS):
            if mv.run_id not in runs or not services_of(dict(runs[mv.run_id].data.tags)):
                continue
            mid = f"{NODE_MODEL_VERSION}:{mv.name}/{mv.version}"
            nodes.append(LineageNode(mid, NODE_MODEL_VERSION, f"{mv.name} v{mv.version}", {
                "model": mv.name, "version": str(mv.version), "status": mv.status,
                "stage": getattr(mv, "current_stage", None), "aliases": list(getattr(mv, "aliases", []) or []),
                "run_id": mv.run_id}))
            edges.append(LineageEdge(f"{NODE_RUN}:{mv.run_id}", mid, "registered_model"))
    return LineageGraph(nodes, edges, {"mlflow": {"joined": True, "uri": redact(uri), "runs": len(runs)}})
