"""FeatureService: the feature store of one workspace, over Feast's own SDK.

The registry is read once into a `FeatureCatalog` and reread only when `feature_store.yaml` or the
registry file changes, so hovers, completion and lineage answer from memory. A repo that cannot be
loaded raises `FeatureStoreError` from the catalog calls, and `validate()` says where and why;
definitions, policy and everything else keep working.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expenv.domain.config import ExpenvConfig
from expenv.domain.features import (
    ID_PREFIXES,
    NODE_FEATURE_SERVICE,
    Direction,
    FeastCommandResult,
    FeatureInfo,
    FeatureProblem,
    FeatureRef,
    FeatureServiceInfo,
    FeatureStoreError,
    FeatureViewInfo,
    LineageGraph,
    SourceLocation,
)
from expenv.services.features.catalog import FeatureCatalog, view_id
from expenv.services.features.definitions import DefinitionIndex

log = logging.getLogger(__name__)
RUNS_TTL = 30.0  # seconds an MLflow join is reused (hovers ask often; runs change rarely)
# Search order when a lineage centre is a bare name.
NAME_ORDER = ("feature_view", "feature_service", "data_source", "entity", "dataset", "model_version", "run")


@dataclass
class _Loaded:
    stamp: tuple
    catalog: FeatureCatalog | None
    error: str | None
    registry: Path | None
    store: Any = None


def _stat(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def feast_env() -> dict[str, str]:
    return {**os.environ, "FEAST_USAGE": "False"}


class FeatureService:
    """Entities, sources, views, services, lineage, definitions and checks of `[features] repo`.

    `data` (a DataLookup) links Feast sources to known datasets; `tracking` (anything with
    `uri() -> str | None`, e.g. TrackingService) joins MLflow runs and models into lineage."""

    def __init__(self, config: ExpenvConfig, data=None, tracking=None):
        self.config = config
        self.data = data
        self.tracking = tracking
        self.repo: Path | None = (config.root / config.features.repo).resolve() if config.features.repo else None
        self.definitions = DefinitionIndex(self.repo) if self.repo else None
        self._lock = threading.RLock()
        self._loaded: _Loaded | None = None
        self._runs: tuple[str, float, LineageGraph] | None = None
        self._refreshing = False

    # ---- the registry snapshot ------------------------------------------------------------------

    def _stamp(self, registry: Path | None) -> tuple:
        yaml_path = self.repo / "feature_store.yaml" if self.repo else None
        return _stat(yaml_path), _stat(registry), str(registry)

    def catalog(self) -> FeatureCatalog:
        """The current registry snapshot; raises FeatureStoreError when it cannot be loaded."""
        with self._lock:
            loaded = self._loaded
            if loaded is None or loaded.stamp != self._stamp(loaded.registry):
                loaded = self._loaded = self._load()
            if loaded.catalog is None:
                raise FeatureStoreError(loaded.error or "the feature store is not available")
            return loaded.catalog

    def store(self):
        """Feast's FeatureStore behind the snapshot (for retrieval; imports feast)."""
        self.catalog()
        return self._loaded.store

    def _load(self) -> _Loaded:
        from expenv.services.features.feast_import import without_typechecks
        from expenv.services.features.problems import registry_file, yaml_problems

        if self.repo is None:
            return _Loaded(self._stamp(None), None, "no feature repo: set [features] repo in expenv.toml", None)
        os.environ.setdefault("FEAST_USAGE", "False")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problems, repo_config = yaml_problems(self.config, self.repo)
            if repo_config is None:
                first = problems[0]
                return _Loaded(self._stamp(None), None, f"{first.path}:{first.line}: {first.message}", None)
            registry = registry_file(self.repo, repo_config)
            stamp = self._stamp(registry)
            if registry is not None and not registry.exists():
                return _Loaded(stamp, None, f"the registry {registry} does not exist yet: run `expenv features "
                               f"apply` (feast apply) in {self.repo}", registry)
            started = time.perf_counter()
            try:
                without_typechecks()
                from feast import FeatureStore

                from expenv.services.features.catalog import build_catalog

                store = FeatureStore(repo_path=str(self.repo))
                catalog = build_catalog(store, self.repo, self.config.root, self.data, self.definitions)
            except Exception as exc:  # noqa: BLE001 - Feast raises protobuf, pydantic, OS and its own errors
                where = registry or self.repo / "feature_store.yaml"
                return _Loaded(stamp, None, f"the registry {where} failed to load: {type(exc).__name__}: "
                               f"{str(exc)[:300]}", registry)
        log.info("feature registry %s loaded in %.0f ms (%d views)", registry, (time.perf_counter() - started) * 1000,
                 len(catalog.views))
        return _Loaded(stamp, catalog, None, registry, store)

    # ---- objects ------------------------------------------------------------------------------

    def entities(self):
        return list(self.catalog().entities.values())

    def sources(self):
        return list(self.catalog().sources.values())

    def feature_views(self, kind: str | None = None) -> list[FeatureViewInfo]:
        return [v for v in self.catalog().views.values() if kind is None or v.kind == kind]

    def feature_services(self) -> list[FeatureServiceInfo]:
        return list(self.catalog().services.values())

    def view(self, name: str) -> FeatureViewInfo | None:
        return self.catalog().views.get(name)

    def service(self, name: str) -> FeatureServiceInfo | None:
        return self.catalog().services.get(name)

    def feature(self, ref: str) -> FeatureInfo | None:
        """`"view:feature"` resolved, or None when the view or the feature is unknown."""
        return self.catalog().feature(ref)

    def definition_of(self, name: str, group: str | None = "view") -> SourceLocation | None:
        """Where `name` is defined in the repo's Python (group: view | service | entity | source | None
        for any). Works without a loadable registry."""
        if self.definitions is None:
            return None
        found = self.definitions.find(name, group)
        return found.location if found else None

    # ---- feature references in code (hover, completion, diagnostics, references) ----------------

    def mention_at(self, source: str, line: int, character: int, without_registry: bool = False):
        """The feature reference / service / view name literal at a 0-based position, or None;
        `without_registry`: what the code alone shows when the registry cannot be loaded."""
        from expenv.services.code.strings import string_literals
        from expenv.services.features.mentions import mention_at

        # Every mention is a one-line, plain string literal: elsewhere there is none, and the
        # registry (whose first load imports Feast: seconds) need not be asked.
        if not any(lit.contains(line, character) for lit in string_literals(source)
                   if not lit.is_fstring and "\n" not in lit.value):
            return None
        try:
            return mention_at(source, line, character, self.catalog())
        except FeatureStoreError:
            if not without_registry:
                raise
            return mention_at(source, line, character, None)

    def mention_problems(self, source: str):
        """Unknown views, features and services named in `source` (list of MentionProblem)."""
        from expenv.services.features.mentions import mention_problems

        return mention_problems(source, self.catalog())

    def completions(self, prefix: str, kind: str = "feature_ref") -> list[tuple[str, str]]:
        from expenv.services.features.mentions import completions

        return completions(self.catalog(), prefix, kind)

    def completions_at(self, source: str, line: int, character: int):
        """(completion context, [(label, detail)]) for the feature string typed at a 0-based
        position, or None when it is not one (or the registry cannot be loaded)."""
        from expenv.services.features.mentions import completion_context, completions

        context = completion_context(source, line, character)
        if context is None:
            return None
        try:
            return context, completions(self.catalog(), context.typed, context.kind)
        except FeatureStoreError:
            return None

    def references(self, name: str, feature: str | None = None, open_texts=None):
        """Literals naming view `name` (or `name:feature`, or service `name`) in the workspace's
        .py files and notebook cells (list of ReferenceLocation, 0-based); `open_texts` (path →
        [(cell index or None, text)]) is the editor's unsaved text, read instead of the disk."""
        from expenv.services.features.mentions import references

        return references(self.config.root, self.catalog(), name, feature, open_texts)

    # ---- lineage ------------------------------------------------------------------------------

    def lineage(self, center: str | None = None, depth: int | None = None, direction: Direction = "both",
                runs: bool = True) -> LineageGraph:
        """The whole lineage graph, or the part around `center` (a node id, a feature reference or a
        bare name). Runs and models come from MLflow when it answers; `attrs["mlflow"]` says."""
        catalog = self.catalog()
        graph = catalog.graph()
        if runs:
            graph = LineageGraph.merge([graph, self._runs_graph(catalog)])
        if center is None:
            return graph
        return graph.subgraph(self.resolve_node(center, graph), depth, direction)

    def impact(self, node: str, runs: bool = True) -> LineageGraph:
        """Everything downstream of `node`: the services, runs and models a change to it reaches.
        For a feature reference, only the services that project that feature count."""
        catalog = self.catalog()
        graph = self.lineage(runs=runs)
        ref = FeatureRef.parse(node) if node.split(":", 1)[0] not in ID_PREFIXES else None
        info = catalog.feature(ref) if ref else None
        if info is not None:
            allowed = set(info.services)
            vid = view_id(info.view.name)
            graph = LineageGraph(graph.nodes, [e for e in graph.edges if not (
                e.source == vid and e.target.startswith(f"{NODE_FEATURE_SERVICE}:")
                and e.target.split(":", 1)[1] not in allowed)], graph.attrs)
            impacted = graph.subgraph(vid, None, "down")
            impacted.attrs["feature"] = info.ref.text
            return impacted
        return graph.subgraph(self.resolve_node(node, graph), None, "down")

    def resolve_node(self, name: str, graph: LineageGraph | None = None) -> str:
        graph = graph or self.lineage(runs=False)
        if graph.node(name) is not None:
            return name
        ref = FeatureRef.parse(name)
        if ref and ref.view and graph.node(view_id(ref.view)) is not None and name.split(":", 1)[0] not in ID_PREFIXES:
            return view_id(ref.view)
        for kind in NAME_ORDER:
            if graph.node(f"{kind}:{name}") is not None:
                return f"{kind}:{name}"
        raise FeatureStoreError(f"nothing named {name!r} in the lineage of {self.repo} "
                                "(a feature view, feature service, data source, entity, dataset or model)")

    def forget_runs(self) -> None:
        self._runs = None

    def _runs_graph(self, catalog: FeatureCatalog) -> LineageGraph:
        def skipped(detail: str) -> LineageGraph:
            return LineageGraph([], [], {"mlflow": {"joined": False, "detail": detail}})

        if self.tracking is None:
            return skipped("no tracking service: runs and models are not shown")
        try:
            uri = self.tracking.uri()
        except Exception as exc:  # noqa: BLE001
            return skipped(f"MLflow is not reachable ({exc}): runs and models are not shown")
        if not uri:
            return skipped("MLflow is not running (`expenv up` starts it): runs and models are not shown")
        cached = self._runs
        if cached and cached[0] == uri:
            if time.monotonic() - cached[1] >= RUNS_TTL:
                self._refresh_runs_in_background(uri, catalog)
            return cached[2]  # possibly stale by a few seconds: a hover must not wait on MLflow
        return self._query_runs(uri, catalog)

    def _query_runs(self, uri: str, catalog: FeatureCatalog) -> LineageGraph:
        """Query MLflow; the answer, joined or not, is reused for RUNS_TTL seconds."""
        from expenv.domain.secrets import redact
        from expenv.services.tracking.embedded import healthy

        def skipped(detail: str) -> LineageGraph:
            return LineageGraph([], [], {"mlflow": {"joined": False, "detail": detail}})

        if uri.startswith(("http://", "https://")) and not healthy(uri, timeout=2.0):
            graph = skipped(f"MLflow at {redact(uri)} does not answer: runs and models are not shown")
        else:
            try:
                from expenv.services.features.tracking_join import runs_graph

                graph = runs_graph(uri, set(catalog.services))
            except Exception as exc:  # noqa: BLE001 - MLflow raises many kinds; lineage goes on without it
                graph = skipped(f"MLflow at {redact(uri)} failed ({type(exc).__name__}: "
                                f"{redact(str(exc))[:200]}): runs and models are not shown")
        self._runs = (uri, time.monotonic(), graph)
        return graph

    def _refresh_runs_in_background(self, uri: str, catalog: FeatureCatalog) -> None:
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True

        def refresh() -> None:
            try:
                self._query_runs(uri, catalog)
            finally:
                self._refreshing = False

        threading.Thread(target=refresh, name="expenv-feature-runs", daemon=True).start()

    def warm(self) -> None:
        """Load the registry and the MLflow join (imports feast and mlflow, seconds); call it off the
        event loop after start-up so the first hover does not wait."""
        try:
            self.lineage()
        except Exception as exc:  # noqa: BLE001 - a broken repo is reported by validate(), not here
            log.info("feature store not warmed: %s", exc)

    # ---- checks and commands -------------------------------------------------------------------

    def validate(self) -> list[FeatureProblem]:
        """Every located problem of the repo. Never raises."""
        from expenv.services.features.problems import (
            python_problems,
            registry_file,
            registry_line,
            source_problems,
            yaml_problems,
        )

        if self.repo is None:
            return []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problems, repo_config = yaml_problems(self.config, self.repo)
        if self.repo.is_dir():
            problems += python_problems(self.repo)
        if repo_config is None:
            return problems
        path, line, col = registry_line(self.repo)
        registry = registry_file(self.repo, repo_config)
        if registry is not None and not registry.exists():
            return problems + [FeatureProblem(path, line, col, f"the registry {registry} does not exist yet: run "
                                              "`expenv features apply` (feast apply)", "information", "registry")]
        try:
            catalog = self.catalog()
        except FeatureStoreError as exc:
            return problems + [FeatureProblem(path, line, col, str(exc), code="registry")]
        return problems + source_problems(catalog, str(self.repo / "feature_store.yaml"))

    def _feast(self, *args: str, timeout: float = 600) -> FeastCommandResult:
        from expenv.services.features.problems import traceback_problems

        command = "feast " + " ".join(args)
        if self.repo is None or not self.repo.is_dir():
            return FeastCommandResult(command, False, -1, f"no feature repo at {self.repo}")
        cmd = [sys.executable, "-c", "from feast.cli.cli import cli; cli()", *args]
        try:
            proc = subprocess.run(cmd, cwd=self.repo, env=feast_env(), capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return FeastCommandResult(command, False, -1, f"{command} did not finish in {timeout:.0f} s")
        output = (proc.stdout + ("\n" if proc.stdout and proc.stderr else "") + proc.stderr).strip()
        problems = traceback_problems(output, self.repo) if proc.returncode else []
        return FeastCommandResult(command, proc.returncode == 0, proc.returncode, output, problems)

    def plan(self) -> FeastCommandResult:
        """`feast plan` in the repo: what `apply` would change."""
        return self._feast("plan")

    def apply(self) -> FeastCommandResult:
        """`feast apply` in the repo; the next catalog call sees the new registry."""
        result = self._feast("apply")
        with self._lock:
            self._loaded, self._runs = None, None
        return result

    # ---- the sourcing policy --------------------------------------------------------------------

    def check_policy(self, paths: list[Path] | None = None, branch: str | None = None,
                     enforce: bool | None = None):
        from expenv.services.features.policy import check_policy

        return check_policy(self.config, paths, branch, data=self.data, enforce=enforce)

    def check_document(self, path: Path | str, source: str, branch: str | None = None,
                       enforce: bool | None = None):
        """Violations in an open document's unsaved text ([] when it is not pipeline code)."""
        from expenv.services.features.policy import check_document

        return check_document(self.config, Path(path), source, data=self.data, branch=branch, enforce=enforce)

    def rewrite(self, source: str, read, path: Path | str | None = None):
        """Code actions for one direct read (a DataRead): a retrieval through the feature service
        that covers its columns, else a feature view scaffold. Raises FeatureStoreError without a
        loadable registry."""
        from expenv.services.features.rewrite import rewrite_to_feature_store

        return rewrite_to_feature_store(source, read, catalog=self.catalog(), config=self.config,
                                        lookup=self.data, path=Path(path) if path else None)
