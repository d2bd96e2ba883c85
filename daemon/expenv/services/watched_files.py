"""The files a workspace's services and diagnostics depend on, as glob patterns, and what a change
to one of them means.

The daemon learns of changes made outside the editor (`git checkout`, `feast apply` in a terminal)
in one of two ways, and both read this one list: the watchers it registers with a client that
supports dynamic registration (`workspace/didChangeWatchedFiles`), or its own mtime poller
(`services.file_poller`) for clients that do not (Neovim by default)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from expenv.domain.config import CONFIG_FILENAME, ExpenvConfig

# What a change means (the kinds a watch reports).
CONFIG = "config"                # expenv.toml: reload the services
FEATURE_REPO = "feature_repo"    # feature_store.yaml, definitions, the registry: recheck the repo
REQUIREMENTS = "requirements"    # the production requirements: parity
GIT_HEAD = "git_head"            # the branch: the sourcing policy's verdict
PIPELINES = "pipelines"          # pipeline code: which files the policy covers

FEAST_DEFAULT_REGISTRY = "data/registry.db"  # Feast's default when feature_store.yaml names none
_GLOB_CHARS = set("*?[{")


@dataclass(frozen=True)
class WatchSpec:
    """Files matching `pattern` (a glob relative to `base`; `**`, `*`, `?`, `{a,b}`, `[...]`).

    `registered`: sent to a client as a watcher. `polled`: stat by the poller. A pattern too wide
    to stat every second (any `expenv.toml` below the root) is the client's only."""

    base: Path
    pattern: str
    kind: str
    registered: bool = True
    polled: bool = True

    def matches(self, path: Path) -> bool:
        try:
            relative = Path(path).relative_to(self.base).as_posix()
        except ValueError:
            return False
        return glob_regex(self.pattern).fullmatch(relative) is not None

    @property
    def is_single_file(self) -> bool:
        return not _GLOB_CHARS & set(self.pattern)


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern:
    """The LSP glob syntax as a regular expression over a '/'-separated relative path."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "{":
            end = pattern.find("}", i)
            if end < 0:
                out.append(re.escape(c))
            else:
                out.append("(?:" + "|".join(re.escape(a) for a in pattern[i + 1:end].split(",")) + ")")
                i = end
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def workspace_watches(root: Path, config: ExpenvConfig | None) -> list[WatchSpec]:
    """What a workspace depends on: its expenv.toml always; with a config, the Feast repo (its
    yaml, definitions and file registry), the production requirements, the pipeline code and
    git's HEAD (the branch the policy judges by)."""
    root = Path(root).resolve()
    specs = [WatchSpec(root, f"**/{CONFIG_FILENAME}", CONFIG, polled=False),
             WatchSpec(root, CONFIG_FILENAME, CONFIG, registered=False)]
    if config is None:
        return specs
    if config.features.repo:
        repo = (root / config.features.repo).resolve()
        specs += [WatchSpec(repo, "feature_store.yaml", FEATURE_REPO), WatchSpec(repo, ".feastignore", FEATURE_REPO),
                  WatchSpec(repo, "**/*.py", FEATURE_REPO)]
        if (registry := feast_registry_file(repo)) is not None:
            specs.append(WatchSpec(registry.parent, registry.name, FEATURE_REPO))
    requirements = config.requirements_file.resolve()
    specs.append(WatchSpec(requirements.parent, requirements.name, REQUIREMENTS))
    for entry in config.policy.pipeline_paths:
        path = (root / entry).resolve()
        if path.suffix == ".py":
            specs.append(WatchSpec(path.parent, path.name, PIPELINES))
        else:
            specs.append(WatchSpec(path, "**/*.py", PIPELINES))
    if (head := git_head_file(root)) is not None:
        specs.append(WatchSpec(head.parent, head.name, GIT_HEAD))
    return specs


def feast_registry_file(repo: Path) -> Path | None:
    """The local registry file `feature_store.yaml` names (None: SQL or remote, or no readable yaml).
    Read with yaml only: Feast's own config loader costs a second of imports."""
    import yaml

    try:
        data = yaml.safe_load((repo / "feature_store.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    registry = data.get("registry", FEAST_DEFAULT_REGISTRY) if isinstance(data, dict) else None
    if isinstance(registry, dict):
        if registry.get("registry_type", "file") != "file":
            return None
        registry = registry.get("path")
    if not isinstance(registry, str) or not registry or "://" in registry:
        return None
    path = Path(registry)
    return (path if path.is_absolute() else repo / path).resolve()


def git_head_file(root: Path) -> Path | None:
    """`.git/HEAD` of the repository holding `root` (a worktree's `.git` file points elsewhere)."""
    for folder in (root, *root.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return (dot_git / "HEAD").resolve()
        if dot_git.is_file():
            try:
                line = dot_git.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return None
            if line.startswith("gitdir:"):
                gitdir = Path(line[len("gitdir:"):].strip())
                return ((gitdir if gitdir.is_absolute() else folder / gitdir) / "HEAD").resolve()
            return None
    return None


def kinds_changed(specs: list[WatchSpec], paths: list[Path]) -> set[str]:
    """What the changed `paths` mean for the workspace that has these `specs`."""
    return {spec.kind for path in paths for spec in specs if spec.matches(path)}
