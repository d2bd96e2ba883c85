"""The parsed `expenv.toml`: what a workspace asks expenv to do."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from expenv.domain.pipelines import PipelineSpec

CONFIG_FILENAME = "expenv.toml"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file, located for a diagnostic (1-based line and column)."""

    message: str
    line: int = 1
    column: int = 1
    severity: Severity = Severity.ERROR
    key: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "severity": self.severity.value,
            "key": self.key,
        }


class ConfigError(Exception):
    """A config file that cannot be used; `problems` says where and why."""

    def __init__(self, path: Path, problems: list[ConfigProblem]):
        self.path = path
        self.problems = problems
        first = problems[0] if problems else ConfigProblem("invalid config")
        super().__init__(f"{path}:{first.line}:{first.column}: {first.message}")


@dataclass(frozen=True)
class ProjectSection:
    name: str


DEFAULT_REQUIREMENTS = "pipelines/requirements.txt"


@dataclass(frozen=True)
class EnvironmentSection:
    production_image: str | None = None
    requirements: str | None = None


@dataclass(frozen=True)
class RawDataSection:
    roots: tuple[str, ...] = ()
    storage_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CuratedDataSection:
    url: str | None = None
    schemas: tuple[str, ...] | None = None  # curated schemas for the policy (None: the warehouse's, else curated)


@dataclass(frozen=True)
class FeaturesSection:
    repo: str | None = None


@dataclass(frozen=True)
class TrackingSection:
    uri: str | None = None


@dataclass(frozen=True)
class LspSection:
    # How long a hover, completion or code action waits for a backend (S3, a warehouse, Feast)
    # before it answers with what is known; the work goes on in the background for the next one.
    answer_timeout_ms: int = 400


@dataclass(frozen=True)
class ClusterSection:
    name: str
    kind: str
    backend: str = "local"
    workers: int = 2
    image: str | None = None
    namespace: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    cores: float | None = None           # per worker
    memory: str | None = None            # per worker: "2Gi", "512Mi", "4GB"
    idle_timeout: int | None = None      # seconds unused before expenv stops it
    context: str | None = None           # kubernetes context (default: the kubeconfig's current)
    secrets: tuple[str, ...] = ()        # names of Kubernetes Secrets given to the pods
    api_timeout: float | None = None     # kubernetes: seconds one API call may take (default 15)


@dataclass(frozen=True)
class TargetSection:
    name: str
    backend: str
    namespace: str | None = None
    image: str | None = None
    kind: str | None = None
    context: str | None = None
    tracking_uri: str | None = None
    production_like: bool | None = None
    # Workspace paths git does not hold (data a local target's steps need) copied in beside the code.
    include: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()        # kubernetes: names of Secrets given to each step's pod (envFrom)
    api_timeout: float | None = None     # kubernetes: seconds one API call may take (default 15)

    @property
    def is_production_like(self) -> bool:
        """Policy and parity gate a submission: explicit, else true for kubernetes targets."""
        return self.production_like if self.production_like is not None else self.backend == "kubernetes"


@dataclass(frozen=True)
class PolicySection:
    feature_store_required: tuple[str, ...] = ()
    pipeline_paths: tuple[str, ...] = ("pipelines",)


@dataclass(frozen=True)
class ExpenvConfig:
    """A whole workspace config. `root` is the folder holding `expenv.toml`."""

    root: Path
    project: ProjectSection
    environment: EnvironmentSection = EnvironmentSection()
    raw: RawDataSection = RawDataSection()
    curated: CuratedDataSection = CuratedDataSection()
    features: FeaturesSection = FeaturesSection()
    tracking: TrackingSection = TrackingSection()
    clusters: dict[str, ClusterSection] = field(default_factory=dict)
    targets: dict[str, TargetSection] = field(default_factory=dict)
    pipelines: dict[str, PipelineSpec] = field(default_factory=dict)
    policy: PolicySection = PolicySection()
    lsp: LspSection = LspSection()
    warnings: tuple[ConfigProblem, ...] = ()

    def __post_init__(self) -> None:
        # Every credential the config holds (storage_options, URL passwords, ...) is masked in
        # every output of this process from now on, whichever section a later feature reads.
        from expenv.domain.secrets import remember, secrets_in

        remember(secrets_in({f.name: getattr(self, f.name) for f in fields(self)
                             if f.name not in ("root", "project", "warnings")}))

    @property
    def state_dir(self) -> Path:
        """Where expenv keeps per-workspace state (embedded MLflow, tokens, caches)."""
        return self.root / ".expenv"

    @property
    def requirements_file(self) -> Path:
        """The production requirements: what the production image installs."""
        return self.root / (self.environment.requirements or DEFAULT_REQUIREMENTS)
