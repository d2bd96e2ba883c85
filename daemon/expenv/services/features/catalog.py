"""A snapshot of one Feast registry as plain data, read once through Feast's SDK (`list_*`), with
the lookups an editor needs (a feature reference, a service, the views a service reads) and the
lineage among Feast objects and the datasets their sources read. Everything after the snapshot is
pure Python, so hovers and lineage never wait on Feast.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from expenv.domain.features import (
    NODE_DATA_SOURCE,
    NODE_DATASET,
    NODE_ENTITY,
    NODE_FEATURE_SERVICE,
    VIEW_NODE_KINDS,
    DataSourceInfo,
    EntityInfo,
    FeatureField,
    FeatureInfo,
    FeatureRef,
    FeatureServiceInfo,
    FeatureViewInfo,
    LineageEdge,
    LineageGraph,
    LineageNode,
)
from expenv.services.features.definitions import DefinitionIndex

DUMMY_ENTITY = "__dummy"
# Tags (on a data source or a feature view) naming the dataset a source's file was exported from.
DATASET_TAGS = ("expenv.dataset", "curated_table", "dataset")


def view_id(name: str) -> str:
    return f"feature_view:{name}"


def node_id(kind: str, name: str) -> str:
    return f"{kind}:{name}"


class FeatureCatalog:
    """Entities, data sources, views and services of one Feast project, indexed by name."""

    def __init__(self, project: str, repo: Path, entities: list[EntityInfo], sources: list[DataSourceInfo],
                 views: list[FeatureViewInfo], services: list[FeatureServiceInfo]):
        self.project = project
        self.repo = repo
        # sorted by name: Feast's registry order changes from one apply to the next
        self.entities = {e.name: e for e in sorted(entities, key=lambda e: e.name)}
        self.sources = {s.name: s for s in sorted(sources, key=lambda s: s.name)}
        self.views = {v.name: v for v in sorted(views, key=lambda v: v.name)}
        self.services = {s.name: s for s in sorted(services, key=lambda s: s.name)}
        self._graph: LineageGraph | None = None
        self._projected: dict[tuple[str, str], list[str]] = {}
        for svc in self.services.values():
            for ref in svc.features:
                self._projected.setdefault((ref.view, ref.feature), []).append(svc.name)
        self._view_services: dict[str, list[str]] = {}
        for svc in self.services.values():
            for view in svc.views:
                self._view_services.setdefault(view, []).append(svc.name)

    # ---- lookups ------------------------------------------------------------------------------

    def feature(self, ref: str | FeatureRef) -> FeatureInfo | None:
        parsed = FeatureRef.parse(ref) if isinstance(ref, str) else ref
        view = self.views.get(parsed.view) if parsed else None
        fld = view.field_named(parsed.feature) if view and parsed else None
        if fld is None:
            return None
        source = self.sources.get(view.source) if view.source else None
        return FeatureInfo(parsed, fld.dtype, fld.description, view, source,
                           list(self._projected.get((view.name, fld.name), [])))

    def feature_refs(self) -> list[str]:
        return [f"{v.name}:{f.name}" for v in self.views.values() for f in v.features]

    def services_reading(self, view: str) -> list[str]:
        return list(self._view_services.get(view, []))

    # ---- lineage among Feast objects and datasets -----------------------------------------------

    def graph(self) -> LineageGraph:
        if self._graph is None:
            self._graph = _graph_of(self)
        return self._graph


def _graph_of(cat: FeatureCatalog) -> LineageGraph:
    nodes: list[LineageNode] = []
    edges: list[LineageEdge] = []
    datasets: dict[str, LineageNode] = {}

    def loc(d) -> str | None:
        return f"{d.definition.path}:{d.definition.line}" if d.definition else None

    for e in cat.entities.values():
        nodes.append(LineageNode(node_id(NODE_ENTITY, e.name), NODE_ENTITY, e.name,
                                 {"join_keys": e.join_keys, "definition": loc(e)}))
    for s in cat.sources.values():
        sid = node_id(NODE_DATA_SOURCE, s.name)
        nodes.append(LineageNode(sid, NODE_DATA_SOURCE, s.name,
                                 {"source_kind": s.kind, "path": s.path, "table": s.table, "exists": s.exists,
                                  "definition": loc(s)}))
        if s.batch_source and s.batch_source in cat.sources:
            edges.append(LineageEdge(node_id(NODE_DATA_SOURCE, s.batch_source), sid, "batch_source"))
        if s.dataset:
            did = node_id(NODE_DATASET, s.dataset)
            datasets.setdefault(did, LineageNode(did, NODE_DATASET, s.dataset, {"layer": s.dataset_layer}))
            edges.append(LineageEdge(did, sid, s.dataset_relation or "reads"))
    for v in cat.views.values():
        vid = view_id(v.name)
        nodes.append(LineageNode(vid, VIEW_NODE_KINDS[v.kind], v.name,
                                 {"view_kind": v.kind, "features": len(v.features), "ttl_seconds": v.ttl_seconds,
                                  "definition": loc(v)}))
        if v.kind != "on_demand":
            for entity in v.entities:
                edges.append(LineageEdge(node_id(NODE_ENTITY, entity), vid, "entity"))
        if v.source:
            edges.append(LineageEdge(node_id(NODE_DATA_SOURCE, v.source), vid, "batch_source"))
        if v.stream_source:
            edges.append(LineageEdge(node_id(NODE_DATA_SOURCE, v.stream_source), vid, "stream_source"))
        for req in v.request_sources:
            edges.append(LineageEdge(node_id(NODE_DATA_SOURCE, req), vid, "request_source"))
        for upstream in v.source_views:
            edges.append(LineageEdge(view_id(upstream), vid, "source_view"))
    for svc in cat.services.values():
        fid = node_id(NODE_FEATURE_SERVICE, svc.name)
        nodes.append(LineageNode(fid, NODE_FEATURE_SERVICE, svc.name,
                                 {"features": len(svc.features), "definition": loc(svc)}))
        for view in svc.views:
            edges.append(LineageEdge(view_id(view), fid, "feature_view"))
    nodes.extend(datasets.values())
    return LineageGraph(nodes, edges, {"project": cat.project, "repo": str(cat.repo)})


# ---- building a catalog from Feast's SDK ------------------------------------------------------


def _seconds(ttl) -> int | None:
    return int(ttl.total_seconds()) if ttl is not None else None


def _fields(fields) -> list[FeatureField]:
    return [FeatureField(f.name, str(f.dtype), getattr(f, "description", "") or "") for f in fields]


def _source_kind(ds) -> str:
    name = type(ds).__name__
    return (name[: -len("Source")] if name.endswith("Source") and name != "Source" else name).lower()


def _local_location(repo: Path, path: str | None) -> str | None:
    if not path:
        return None
    if "://" in path and not path.startswith("file://"):
        return path
    p = Path(path[len("file://"):] if path.startswith("file://") else path)
    return str(p if p.is_absolute() else (repo / p).resolve())


def _link(lookup, root: Path, location: str | None, table: str | None) -> tuple[str | None, str | None]:
    """(dataset name, layer) data lookup gives for a source's file or table, else (None, None)."""
    if lookup is None:
        return None, None
    candidates: list[str] = []
    if location:
        if "://" not in location:
            try:
                candidates.append(Path(location).relative_to(root).as_posix())
            except ValueError:
                pass
        candidates.append(location)
    if table:
        candidates.append(table)
    for text in candidates:
        try:
            ref = lookup.find(text)
        except Exception:  # noqa: BLE001 - find must not raise, but a broken backend must not break lineage
            ref = None
        if ref is not None:
            return ref.name, ref.layer.value
    return None, None


def build_catalog(store, repo: Path, root: Path, lookup=None, definitions: DefinitionIndex | None = None
                  ) -> FeatureCatalog:
    """Read every object of `store`'s project through Feast's SDK (one registry snapshot)."""
    from feast import OnDemandFeatureView
    from feast.stream_feature_view import StreamFeatureView

    try:
        from feast.labeling.label_view import LabelView  # Feast >= 0.6x
    except ImportError:  # pragma: no cover - older Feast
        LabelView = ()  # noqa: N806

    defs = definitions.by_group() if definitions else {}

    def where(group: str, name: str):
        d = defs.get((group, name))
        return d.location if d else None

    entities = [EntityInfo(e.name, list(getattr(e, "join_keys", None) or [e.join_key]),
                           getattr(e.value_type, "name", str(e.value_type)), e.description or "",
                           dict(e.tags or {}), where("entity", e.name))
                for e in store.list_entities(allow_cache=True)]
    entity_keys = {e.name: e.join_keys for e in entities}

    views: list[FeatureViewInfo] = []
    view_tags: dict[str, dict[str, str]] = {}
    for fv in store.list_all_feature_views(allow_cache=True):
        if isinstance(fv, OnDemandFeatureView):
            kind, source, stream = "on_demand", None, None
        else:
            kind = ("label" if LabelView and isinstance(fv, LabelView)
                    else "stream" if isinstance(fv, StreamFeatureView) else "batch")
            batch_src, stream_src = getattr(fv, "batch_source", None), getattr(fv, "stream_source", None)
            source = batch_src.name if batch_src is not None else None
            stream = stream_src.name if stream_src is not None else None
        ents = [e for e in (getattr(fv, "entities", None) or []) if e != DUMMY_ENTITY]
        views.append(FeatureViewInfo(
            name=fv.name, kind=kind, entities=ents,
            join_keys=[k for e in ents for k in entity_keys.get(e, [])],
            features=_fields(fv.features),
            ttl_seconds=_seconds(getattr(fv, "ttl", None)) if kind != "on_demand" else None,
            source=source, stream_source=stream,
            source_views=sorted(getattr(fv, "source_feature_view_projections", {}) or {}) if kind == "on_demand" else [],
            request_sources=sorted(getattr(fv, "source_request_sources", {}) or {}) if kind == "on_demand" else [],
            online=bool(getattr(fv, "online", kind == "on_demand")),
            description=fv.description or "", owner=getattr(fv, "owner", "") or "",
            tags=dict(fv.tags or {}), definition=where("view", fv.name),
        ))
        view_tags[fv.name] = dict(fv.tags or {})
    views = _with_derived_entities(views)

    tagged: dict[str, str] = {}  # source name -> dataset named by a tag of a view reading it
    for v in views:
        for key in DATASET_TAGS:
            if v.source and view_tags[v.name].get(key):
                tagged.setdefault(v.source, view_tags[v.name][key])
    sources = []
    for ds in store.list_data_sources(allow_cache=True):
        path = getattr(ds, "path", None) if _source_kind(ds) == "file" else None
        table = getattr(ds, "table", None) or None
        location = _local_location(repo, path)
        dataset, layer = _link(lookup, root, location, table)
        relation = "reads" if dataset else None
        tags = dict(ds.tags or {})
        if dataset is None:
            named = next((tags[k] for k in DATASET_TAGS if tags.get(k)), None) or tagged.get(ds.name)
            if named:
                dataset, layer = _link(lookup, root, None, named)
                dataset, relation = dataset or named, "derived_from"
        exists: bool | None = None
        if location and "://" not in location:
            exists = os.path.exists(location)
        elif table and lookup is not None:
            exists = True if dataset else None
        batch = getattr(ds, "batch_source", None)
        sources.append(DataSourceInfo(
            name=ds.name, kind=_source_kind(ds), path=path, table=table, location=location,
            timestamp_field=getattr(ds, "timestamp_field", None) or None,
            batch_source=batch.name if batch is not None else None, description=ds.description or "",
            tags=tags, dataset=dataset, dataset_layer=layer, dataset_relation=relation, exists=exists, definition=where("source", ds.name)))

    services = []
    for fs in store.list_feature_services():
        refs = [FeatureRef(p.name_to_use(), f.name) for p in fs.feature_view_projections for f in p.features]
        services.append(FeatureServiceInfo(
            name=fs.name, features=refs, views=list(dict.fromkeys(p.name for p in fs.feature_view_projections)),
            description=fs.description or "", owner=getattr(fs, "owner", "") or "", tags=dict(fs.tags or {}),
            definition=where("service", fs.name)))
    return FeatureCatalog(store.project, repo, entities, sources, views, services)


def _with_derived_entities(views: list[FeatureViewInfo]) -> list[FeatureViewInfo]:
    """On-demand views carry no entities in the registry; give them their source views' for hovers."""
    by_name = {v.name: v for v in views}
    out = []
    for v in views:
        if v.kind == "on_demand" and not v.entities:
            ents = list(dict.fromkeys(e for s in v.source_views if s in by_name for e in by_name[s].entities))
            keys = list(dict.fromkeys(k for s in v.source_views if s in by_name for k in by_name[s].join_keys))
            v = replace(v, entities=ents, join_keys=keys)
        out.append(v)
    return out


def catalog_summary(cat: FeatureCatalog) -> dict[str, Any]:
    return {"project": cat.project, "repo": str(cat.repo), "entities": len(cat.entities),
            "data_sources": len(cat.sources), "feature_views": len(cat.views), "feature_services": len(cat.services)}
