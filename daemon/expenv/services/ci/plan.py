"""The facts a CI plan depends on, read from the repository, and the plan for an event."""

from __future__ import annotations

import re
from pathlib import Path

from expenv.domain.ci import CiPlan, RepoFacts, build_plan
from expenv.domain.config import ExpenvConfig

LINTED = ("src", "pipelines", "features", "tests")
DEV_DEPENDENCY_FILES = ("pyproject.toml", "requirements-dev.txt", "requirements-dev.in", ".pre-commit-config.yaml")
DEFAULT_PIPELINE = "train"


def make_targets(root: Path) -> frozenset[str]:
    makefile = root / "Makefile"
    if not makefile.is_file():
        return frozenset()
    return frozenset(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", makefile.read_text(errors="replace"), re.M))


def declares_ruff(root: Path) -> bool:
    """Ruff is used when the project's dev dependencies (or pre-commit hooks) name it."""
    return any((root / name).is_file() and re.search(r"\bruff\b", (root / name).read_text(errors="replace"))
               for name in DEV_DEPENDENCY_FILES)


def repo_facts(root: Path, config: ExpenvConfig | None, pipeline: str | None = None,
               preprod: str = "preprod", alias: str = "champion", model: str | None = None) -> RepoFacts:
    pipelines = list(config.pipelines) if config else []
    chosen = pipeline or (DEFAULT_PIPELINE if DEFAULT_PIPELINE in pipelines else (pipelines[0] if pipelines else None))
    return RepoFacts(
        make_targets=make_targets(root), has_ruff=declares_ruff(root),
        lint_paths=tuple(p for p in LINTED if (root / p).is_dir()) or (".",),
        has_tests=(root / "tests").is_dir() and any((root / "tests").rglob("test_*.py")),
        pipeline=chosen, preprod_target=preprod, alias=alias,
        model=model or (config.project.name if config else None))


def plan_for(root: Path, config: ExpenvConfig | None, event: str, source: str | None, target: str | None,
             **options) -> CiPlan:
    return build_plan(event, source, target, repo_facts(root, config, **options))
