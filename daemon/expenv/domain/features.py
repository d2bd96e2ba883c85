"""The feature store as expenv shows it: Feast objects as plain data, the lineage graph from raw
data to registered models, and the production sourcing policy's findings.

Positions: `SourceLocation`, `FeatureProblem` and `PolicyViolation` use 1-based lines and columns
(like `ConfigProblem`; `end_column` is exclusive). `TextEdit` uses 0-based positions, like an LSP
range and like `expenv.services.code.reads.DataRead`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal

from expenv.domain.errors import ExpenvError

ViewKind = Literal["batch", "stream", "on_demand", "label"]
Direction = Literal["up", "down", "both"]
Severity = Literal["error", "warning", "information"]

# Node kinds of the lineage graph. Every view's id is `feature_view:<name>` whatever its kind, so a
# feature reference `view:feature` always names the node `feature_view:view`.
NODE_DATASET = "dataset"
NODE_DATA_SOURCE = "data_source"
NODE_ENTITY = "entity"
NODE_FEATURE_SERVICE = "feature_service"
NODE_RUN = "run"
NODE_MODEL_VERSION = "model_version"
VIEW_NODE_KINDS = {"batch": "feature_view", "stream": "stream_feature_view",
                   "on_demand": "on_demand_feature_view", "label": "label_view"}
ID_PREFIXES = {"dataset", "data_source", "entity", "feature_view", "feature_service", "run", "model_version"}


class FeatureStoreError(ExpenvError):
    """The feature store cannot answer (no repo configured, broken config, registry not loadable)."""


@dataclass(frozen=True)
class SourceLocation:
    path: str
    line: int
    column: int = 1


@dataclass(frozen=True)
class FeatureRef:
    """`view:feature`, the form Feast takes in `get_historical_features(features=[...])`."""

    view: str
    feature: str

    @property
    def text(self) -> str:
        return f"{self.view}:{self.feature}"

    @classmethod
    def parse(cls, text: str) -> FeatureRef | None:
        view, sep, feature = text.strip().partition(":")
        if not sep or not view or not feature or ":" in feature:
            return None
        return cls(view, feature)


@dataclass(frozen=True)
class FeatureField:
    name: str
    dtype: str
    description: str = ""


@dataclass(frozen=True)
class EntityInfo:
    name: str
    join_keys: list[str]
    value_type: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    definition: SourceLocation | None = None


@dataclass(frozen=True)
class DataSourceInfo:
    """A Feast data source. `dataset`/`dataset_layer` link it to what data lookup knows (or to what
    an `expenv.dataset`/`curated_table` tag of the source or its view names); `exists` is None when it cannot be told without a remote call (URLs, warehouse tables without lookup)."""

    name: str
    kind: str  # file | push | request | kafka | kinesis | bigquery | ... (Feast's class, lower-cased)
    path: str | None = None  # as written in the repo (relative to it for local files)
    table: str | None = None
    location: str | None = None  # absolute path or URL the path resolves to
    timestamp_field: str | None = None
    batch_source: str | None = None  # push and stream sources: where their history lives
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    dataset: str | None = None
    dataset_layer: str | None = None
    dataset_relation: str | None = None  # reads (its file/table is the dataset) | derived_from (a tag says so)
    exists: bool | None = None
    definition: SourceLocation | None = None


@dataclass(frozen=True)
class FeatureViewInfo:
    name: str
    kind: ViewKind
    entities: list[str]
    join_keys: list[str]
    features: list[FeatureField]
    ttl_seconds: int | None
    source: str | None = None  # batch source (data source name)
    stream_source: str | None = None
    source_views: list[str] = field(default_factory=list)  # on-demand views: the views they read
    request_sources: list[str] = field(default_factory=list)
    online: bool = True
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    definition: SourceLocation | None = None

    def field_named(self, name: str) -> FeatureField | None:
        return next((f for f in self.features if f.name == name), None)


@dataclass(frozen=True)
class FeatureServiceInfo:
    name: str
    features: list[FeatureRef]  # as the service exposes them (a projection's alias, if any)
    views: list[str]  # the registered views it reads
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    definition: SourceLocation | None = None

    @property
    def feature_names(self) -> list[str]:
        return [f.feature for f in self.features]


@dataclass(frozen=True)
class FeatureInfo:
    """One feature, with what a hover shows: its view, source (and dataset), and the services
    that project it."""

    ref: FeatureRef
    dtype: str
    description: str
    view: FeatureViewInfo
    source: DataSourceInfo | None
    services: list[str]


@dataclass(frozen=True)
class LineageNode:
    id: str  # "<kind prefix>:<name>", e.g. feature_view:customer_profile, dataset:curated.customers
    kind: str
    name: str
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LineageEdge:
    """Data flows from `source` to `target` (upstream to downstream)."""

    source: str
    target: str
    relation: str


@dataclass
class LineageGraph:
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index: tuple[dict, dict, dict] | None = None

    def _adjacency(self) -> tuple[dict[str, LineageNode], dict[str, list[str]], dict[str, list[str]]]:
        if self._index is None:
            by_id = {n.id: n for n in self.nodes}
            down: dict[str, list[str]] = {}
            up: dict[str, list[str]] = {}
            for e in self.edges:
                down.setdefault(e.source, []).append(e.target)
                up.setdefault(e.target, []).append(e.source)
            self._index = (by_id, down, up)
        return self._index

    def node(self, node_id: str) -> LineageNode | None:
        return self._adjacency()[0].get(node_id)

    def _walk(self, start: str, depth: int | None, links: dict[str, list[str]]) -> list[str]:
        """Ids reachable from `start` within `depth` hops (None: any), nearest first, without `start`."""
        seen = {start}
        order: list[str] = []
        queue = deque([(start, 0)])
        while queue:
            current, d = queue.popleft()
            if depth is not None and d >= depth:
                continue
            for nxt in links.get(current, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    order.append(nxt)
                    queue.append((nxt, d + 1))
        return order

    def upstream(self, node_id: str, depth: int | None = None) -> list[LineageNode]:
        by_id, _, up = self._adjacency()
        return [by_id[i] for i in self._walk(node_id, depth, up) if i in by_id]

    def downstream(self, node_id: str, depth: int | None = None) -> list[LineageNode]:
        by_id, down, _ = self._adjacency()
        return [by_id[i] for i in self._walk(node_id, depth, down) if i in by_id]

    def subgraph(self, center: str, depth: int | None = None, direction: Direction = "both") -> LineageGraph:
        """The center, its ancestors (up), descendants (down) or both, and the edges among them."""
        if direction not in ("up", "down", "both"):
            raise ValueError(f"direction must be up, down or both, not {direction!r}")
        by_id, down, up = self._adjacency()
        keep = {center}
        if direction in ("up", "both"):
            keep.update(self._walk(center, depth, up))
        if direction in ("down", "both"):
            keep.update(self._walk(center, depth, down))
        return LineageGraph(
            nodes=[n for n in self.nodes if n.id in keep],
            edges=[e for e in self.edges if e.source in keep and e.target in keep],
            attrs={**self.attrs, "center": center, "depth": depth, "direction": direction},
        )

    def of_kind(self, *kinds: str) -> list[LineageNode]:
        return [n for n in self.nodes if n.kind in kinds]

    def relations(self) -> set[tuple[str, str, str]]:
        return {(e.source, e.target, e.relation) for e in self.edges}

    @staticmethod
    def merge(parts: Iterable[LineageGraph], attrs: dict[str, Any] | None = None) -> LineageGraph:
        nodes: dict[str, LineageNode] = {}
        edges: dict[tuple[str, str, str], LineageEdge] = {}
        merged_attrs: dict[str, Any] = {}
        for part in parts:
            for n in part.nodes:
                nodes.setdefault(n.id, n)
            for e in part.edges:
                edges.setdefault((e.source, e.target, e.relation), e)
            merged_attrs.update(part.attrs)
        return LineageGraph(list(nodes.values()), list(edges.values()), {**merged_attrs, **(attrs or {})})


@dataclass(frozen=True)
class FeatureProblem:
    """Something wrong in the feature repo, located for a diagnostic."""

    path: str
    line: int
    column: int
    message: str
    severity: Severity = "error"
    code: str = ""  # feature_store_yaml | registry | python | source_missing | repo_missing


@dataclass(frozen=True)
class PolicyViolation:
    """A direct raw or curated read in pipeline code. `severity` is error on a branch that must
    read from the feature store, information elsewhere."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    dataset: str
    layer: str
    message: str
    severity: Literal["error", "information"]
    branch: str | None
    call: str | None = None
    imported_by: str | None = None  # the pipeline file that imports this module, if not one itself


@dataclass(frozen=True)
class FeastCommandResult:
    """`feast plan` / `feast apply`: its text, and the problems read from a failure's traceback."""

    command: str
    ok: bool
    returncode: int
    output: str
    problems: list[FeatureProblem] = field(default_factory=list)


@dataclass(frozen=True)
class TextEdit:
    """Replace the text between (line, character) and (end_line, end_character), 0-based."""

    line: int
    character: int
    end_line: int
    end_character: int
    new_text: str


@dataclass(frozen=True)
class FeatureStoreRewrite:
    """The code action for a direct read: `retrieval` edits the file to read through a feature
    service; `scaffold` proposes a new feature view file for the read's dataset."""

    kind: Literal["retrieval", "scaffold"]
    title: str
    edits: list[TextEdit] = field(default_factory=list)
    service: str | None = None
    new_file: str | None = None  # workspace-relative path of the file to create (scaffold)
    new_file_text: str | None = None
    notes: list[str] = field(default_factory=list)


def apply_edits(source: str, edits: list[TextEdit]) -> str:
    """The text after `edits` (non-overlapping, 0-based, character offsets)."""
    lines = source.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def offset(line: int, character: int) -> int:
        if line >= len(lines):
            return len(source)
        return starts[line] + min(character, len(lines[line]))

    out = source
    for edit in sorted(edits, key=lambda e: (e.line, e.character), reverse=True):
        a, b = offset(edit.line, edit.character), offset(edit.end_line, edit.end_character)
        out = out[:a] + edit.new_text + out[b:]
    return out
