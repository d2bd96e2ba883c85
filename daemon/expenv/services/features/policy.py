"""The production sourcing policy: pipeline code reads its data from the feature store.

Pipeline code is every .py file under `[policy] pipeline_paths` (default `pipelines/`) and every
workspace module those files import, transitively. A direct read of raw or curated data there is
a violation: an error on a branch matching `[policy] feature_store_required` (fnmatch patterns),
information elsewhere. The branch is git's current one (GitPython), unless given. A read is
classified from the code alone (`services.code.sourcing`), so a CI clone without the data or the
warehouse gets the same verdict as a machine holding them.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import threading
from pathlib import Path

from expenv.domain.config import ExpenvConfig
from expenv.domain.features import PolicyViolation
from expenv.services.code.sourcing import DEFAULT_SCHEMAS, SourcingRules, direct_reads

SKIPPED_DIRS = {".git", ".venv", "venv", "__pycache__", ".ipynb_checkpoints", ".expenv", "node_modules",
                "site-packages", ".tox", ".mypy_cache", ".pytest_cache"}


def current_branch(root: Path) -> str | None:
    """The checked-out branch of the git repository holding `root` (None: no repo, or detached)."""
    try:
        import git
    except ImportError:
        return None
    try:
        repo = git.Repo(root, search_parent_directories=True)
        try:
            return repo.active_branch.name
        finally:
            repo.close()
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, TypeError, ValueError, OSError):
        return None  # TypeError: detached HEAD


def required_on(config: ExpenvConfig, branch: str | None) -> bool:
    return bool(branch) and any(fnmatch.fnmatchcase(branch, p) for p in config.policy.feature_store_required)


# ---- which files are pipeline code -------------------------------------------------------------

_imports_cache: dict[Path, tuple[tuple[int, int], list[tuple[str, int]]]] = {}
_cache_lock = threading.Lock()


def _imported_modules(path: Path) -> list[tuple[str, int]]:
    """(dotted module, relative level) of every import in a file (cached by mtime)."""
    try:
        st = path.stat()
    except OSError:
        return []
    stamp = (st.st_mtime_ns, st.st_size)
    with _cache_lock:
        cached = _imports_cache.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, ValueError, OSError, UnicodeDecodeError):
        return []
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found.append((base, node.level))
            # `from pkg import mod` may import a submodule
            found.extend(((f"{base}.{a.name}" if base else a.name), node.level) for a in node.names if a.name != "*")
    with _cache_lock:
        _imports_cache[path] = (stamp, found)
    return found


def _module_file(module: str, bases: list[Path]) -> Path | None:
    if not module:
        return None
    parts = module.split(".")
    for base in bases:
        candidate = base.joinpath(*parts)
        for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
            if path.is_file():
                return path
    return None


def _in_workspace(path: Path, root: Path) -> bool:
    try:
        rel = path.relative_to(root)
    except ValueError:
        return False
    return not any(part in SKIPPED_DIRS for part in rel.parts)


def _pipeline_files(root: Path, entries: list[Path]) -> list[Path]:
    files: list[Path] = []
    for entry in entries:
        entry = entry if entry.is_absolute() else root / entry
        if entry.is_file() and entry.suffix == ".py":
            files.append(entry.resolve())
        elif entry.is_dir():
            for folder, dirs, names in os.walk(entry):
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
                files.extend((Path(folder) / n).resolve() for n in sorted(names) if n.endswith(".py"))
    return list(dict.fromkeys(files))


def pipeline_scope(config: ExpenvConfig, paths: list[Path] | None = None) -> dict[Path, str | None]:
    """Every file the policy covers -> None for a pipeline file, else the pipeline file that
    (transitively) imports it."""
    root = config.root.resolve()
    entries = list(paths) if paths else [Path(p) for p in config.policy.pipeline_paths]
    scope: dict[Path, str | None] = {f: None for f in _pipeline_files(root, entries)}
    queue = [(f, f) for f in scope]
    extra_bases = [p for p in (root / "src",) if p.is_dir()]
    while queue:
        current, origin = queue.pop()
        for module, level in _imported_modules(current):
            if level:
                base = current.parent
                for _ in range(level - 1):
                    base = base.parent
                bases = [base]
            else:
                # python pipelines/train.py puts pipelines/ first on sys.path; -m and tests use the root
                bases = [current.parent, root, *extra_bases]
            target = _module_file(module, bases)
            if target is None:
                continue
            target = target.resolve()
            if target in scope or not _in_workspace(target, root):
                continue
            scope[target] = _relative(origin, root)
            queue.append((target, origin))
    return scope


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# ---- the check ---------------------------------------------------------------------------------


def sourcing_rules(config: ExpenvConfig, data=None) -> SourcingRules:
    """What counts as a raw or curated read: the raw roots, the curated URL and the curated schemas
    (`[data.curated] schemas`; default: the schemas holding the warehouse's tables when it can be
    reached, else `curated`). Nothing else depends on what data exists on this machine."""
    schemas = config.curated.schemas
    if schemas is None:
        schemas = tuple(_warehouse_schemas(data)) or DEFAULT_SCHEMAS
    return SourcingRules.build(config.root, config.raw.roots, config.curated.url, schemas)


def _warehouse_schemas(data) -> set[str]:
    curated = getattr(data, "curated", None)
    if curated is None:
        return set()
    try:
        return {t.schema for t in curated.catalog(quick=True).tables}
    except Exception:  # noqa: BLE001 - unreachable (a CI clone has no warehouse): the default applies
        return set()


def violations_in(source: str, path: str, rules: SourcingRules, branch: str | None, error: bool,
                  imported_by: str | None = None) -> list[PolicyViolation]:
    """Direct raw/curated reads in one file's text (positions 1-based; `path` is reported as given)."""
    severity = "error" if error else "information"
    out = []
    for read in direct_reads(source, rules, path):
        where = f"on branch {branch}" if branch else "here"
        rule = ("production pipelines must read from the feature store" if error
                else "once this pipeline goes to production it must read from the feature store")
        via = f" (imported by {imported_by})" if imported_by else ""
        message = (f"direct read of {read.layer.value} data {read.dataset}{via}: {rule}"
                   + (f" ({where} the policy requires it)" if error else "")
                   + "; use a feature service (code action: rewrite as a feature-store retrieval)")
        out.append(PolicyViolation(path, read.line + 1, read.start + 1, read.end_line + 1, read.end + 1,
                                   read.dataset, read.layer.value, message, severity, branch, read.call, imported_by))
    return out


def _data_for(config: ExpenvConfig, data):
    if data is not None:
        return data
    from expenv.services.data import DataService

    return DataService(config)


def check_policy(config: ExpenvConfig, paths: list[Path] | None = None, branch: str | None = None,
                 data=None, enforce: bool | None = None) -> list[PolicyViolation]:
    """Violations in the pipeline code of a workspace (on disk), with absolute paths.

    `paths`: pipeline files or folders to check instead of `[policy] pipeline_paths`. `branch`:
    instead of git's current branch. `data`: the workspace's DataService, asked only for the
    warehouse's schemas. `enforce`: True makes every violation an error (submission to a
    production-like target), False never an error, None decides by the branch."""
    rules = sourcing_rules(config, _data_for(config, data))
    branch = branch or current_branch(config.root)
    error = required_on(config, branch) if enforce is None else enforce
    out: list[PolicyViolation] = []
    for file, imported_by in sorted(pipeline_scope(config, paths).items()):
        try:
            source = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out.extend(violations_in(source, str(file), rules, branch, error, imported_by))
    return out


def check_document(config: ExpenvConfig, path: Path, source: str, data=None, branch: str | None = None,
                   enforce: bool | None = None) -> list[PolicyViolation]:
    """Violations in one open document's (unsaved) text; [] when the file is not pipeline code."""
    scope = pipeline_scope(config)
    resolved = Path(path).resolve()
    if resolved not in scope:
        return []
    branch = branch or current_branch(config.root)
    error = required_on(config, branch) if enforce is None else enforce
    rules = sourcing_rules(config, _data_for(config, data))
    return violations_in(source, str(resolved), rules, branch, error, scope[resolved])
