"""The composition root: one `Workspace` per folder, its config and the services built from it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from expenv.domain.config import CONFIG_FILENAME, ConfigProblem, ExpenvConfig
from expenv.domain.secrets import masked_options, redact_data
from expenv.services.config import parse_config

log = logging.getLogger(__name__)
MAX_REMEMBERED_OWNERS = 4096   # distinct file paths whose workspace is remembered


class Services:
    """The services of one workspace, each built on first use from the config."""

    def __init__(self, config: ExpenvConfig):
        self.config = config

    @cached_property
    def data(self):  # -> expenv.services.data.DataService (a DataLookup)
        from expenv.services.data import DataService

        return DataService(self.config)

    @cached_property
    def features(self):  # -> expenv.services.features.FeatureService
        from expenv.services.features import FeatureService

        return FeatureService(self.config, data=self.data, tracking=self.tracking)

    @cached_property
    def tracking(self):  # -> expenv.services.tracking.TrackingService
        from expenv.services.tracking import TrackingService

        return TrackingService(self.config)

    @cached_property
    def kernels(self):  # -> expenv.services.kernels.NotebookKernels
        from expenv.services.kernels import NotebookKernels

        return NotebookKernels(self.config.state_dir, run_env=self.tracking.kernel_env, workspace=self.config.root)

    @cached_property
    def notebooks(self):  # -> expenv.services.kernels.notebooks.NotebookSessions
        from expenv.services.kernels.notebooks import NotebookSessions

        return NotebookSessions(self.kernels)

    @cached_property
    def clusters(self):  # -> expenv.services.clusters.ClusterService
        from expenv.services.clusters import ClusterService
        from expenv.services.clusters.run_env import cluster_run_env

        return ClusterService(self.config, run_env=lambda profile: cluster_run_env(self.tracking, profile))

    @cached_property
    def pipelines(self):  # -> expenv.services.pipelines.service.PipelineService
        from expenv.services.pipelines.service import PipelineService

        return PipelineService(self.config, tracking=self.tracking, features=self.features)

    @cached_property
    def parity(self):  # -> expenv.services.parity.DocumentParity
        from expenv.services.parity.documents import DocumentParity

        return DocumentParity(self.config)


@dataclass
class Workspace:
    """A folder with (or without) an `expenv.toml`. A broken edit keeps the last good services."""

    root: Path
    config: ExpenvConfig | None = None
    problems: list[ConfigProblem] = field(default_factory=list)
    services: Services | None = None
    generation: int = 0

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILENAME

    @property
    def has_config_file(self) -> bool:
        return self.config_path.is_file()

    def load(self, text: str | None = None) -> list[ConfigProblem]:
        """(Re)read the config from `text` or from disk; rebuild services when it is valid."""
        if text is None:
            try:
                text = self.config_path.read_text(encoding="utf-8")
            except FileNotFoundError:
                self.config, self.services, self.problems = None, None, []
                return []
            except (OSError, UnicodeDecodeError) as exc:
                self.problems = [ConfigProblem(f"cannot read {CONFIG_FILENAME}: {exc}")]
                return self.problems
        config, problems = parse_config(text, self.root)
        self.problems = problems
        if config is not None and config != self.config:
            self.config = config
            self.services = Services(config)
            self.generation += 1
            log.info("loaded %s (project %r)", self.config_path, config.project.name)
        elif config is None:
            kept = "keeping the last valid config" if self.config else "no services until it is fixed"
            log.warning("%s has %d problem(s); %s", self.config_path, len(problems), kept)
        return problems

    def watches(self) -> list:  # -> [expenv.services.watched_files.WatchSpec]
        """The files this workspace's services and diagnostics depend on."""
        from expenv.services.watched_files import workspace_watches

        return workspace_watches(self.root, self.config)

    def describe(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "config_file": str(self.config_path) if self.has_config_file else None,
            "config": config_as_dict(self.config) if self.config else None,
            "problems": [p.as_dict() for p in self.problems],
        }


class WorkspaceSet:
    """Every folder one daemon serves (a multi-root workspace shares one process)."""

    def __init__(self) -> None:
        self._folders: dict[Path, Workspace] = {}
        self._lock = threading.Lock()
        # path -> owner: every hover and completion asks, and resolving a path costs system calls
        # (a fifth of a burst's time); replaced by an empty one whenever the set of folders changes.
        self._owners: dict[str, Workspace | None] = {}

    def add(self, root: Path) -> Workspace:
        root = Path(root).resolve()
        with self._lock:
            ws = self._folders.get(root)
            if ws is None:
                ws = self._folders[root] = Workspace(root)
                self._owners = {}
        ws.load()
        return ws

    def remove(self, root: Path) -> None:
        with self._lock:
            self._folders.pop(Path(root).resolve(), None)
            self._owners = {}

    def all(self) -> list[Workspace]:
        with self._lock:
            return list(self._folders.values())

    def owning(self, path: Path) -> Workspace | None:
        """The innermost workspace folder containing `path`."""
        key, owners = str(path), self._owners   # a change of folders replaces the dict
        if key in owners:
            return owners[key]
        path = Path(path).resolve()
        candidates = [ws for ws in self.all() if path == ws.root or ws.root in path.parents]
        found = max(candidates, key=lambda ws: len(ws.root.parts), default=None)
        if len(owners) >= MAX_REMEMBERED_OWNERS:
            owners.clear()
        owners[key] = found   # into the dict read before: a change meanwhile dropped it
        return found

    def for_config_file(self, path: Path) -> Workspace:
        """The workspace whose `expenv.toml` is `path` (a nested project becomes its own workspace)."""
        root = Path(path).resolve().parent
        with self._lock:
            ws = self._folders.get(root)
            if ws is None:
                ws = self._folders[root] = Workspace(root)
                self._owners = {}
        return ws


def config_as_dict(config: ExpenvConfig) -> dict[str, Any]:
    """The config as JSON-able data, with credentials redacted."""
    from dataclasses import asdict

    data = asdict(config)
    data["root"] = str(config.root)
    data.pop("warnings", None)
    data["raw"]["storage_options"] = masked_options(config.raw.storage_options)
    for cluster in data["clusters"].values():
        cluster["options"] = masked_options(cluster["options"])
    return redact_data(data)
