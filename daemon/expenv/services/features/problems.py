"""What is wrong with a feature repo, each problem on the file and line to fix: `feature_store.yaml`
(missing, not YAML, not a valid Feast config), the registry (not applied yet, not loadable), the
repo's Python files (syntax errors), and feature views whose source file does not exist.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from expenv.domain.config import CONFIG_FILENAME, ExpenvConfig
from expenv.domain.features import FeatureProblem
from expenv.services.features.definitions import repo_python_files

YAML_NAME = "feature_store.yaml"


def config_key_line(config: ExpenvConfig) -> tuple[str, int, int]:
    """(expenv.toml path, line, column) of `[features] repo`, where a missing repo is reported."""
    from expenv.services.toml_positions import key_positions, locate

    path = config.root / CONFIG_FILENAME
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return str(path), 1, 1
    line, column = locate(key_positions(text), ("features", "repo"))
    return str(path), line, column


def yaml_keys(text: str) -> dict[tuple[str, ...], tuple[int, int, Any]]:
    """Every mapping key path of a YAML document -> (line, column, scalar value or None), 1-based."""
    import yaml

    out: dict[tuple[str, ...], tuple[int, int, Any]] = {}

    def walk(node, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = (*prefix, str(key.value))
                scalar = value.value if isinstance(value, yaml.ScalarNode) else None
                out[path] = (key.start_mark.line + 1, key.start_mark.column + 1, scalar)
                walk(value, path)

    try:
        walk(yaml.compose(text), ())
    except yaml.YAMLError:
        pass
    return out


def _locate_message(message: str, keys: dict[tuple[str, ...], tuple[int, int, Any]]) -> tuple[int, int]:
    """Best guess at the YAML line a Feast config error is about: a quoted value it repeats, else a
    key it names (Feast's messages say `Online Store` for `online_store`), else line 1."""
    for path, (line, column, value) in keys.items():
        if value and (f"'{value}'" in message or f'"{value}"' in message):
            return line, column
    words = set(re.findall(r"[a-z_]+", message.lower().replace(" store", "_store")))
    for path in sorted(keys, key=len, reverse=True):
        if path[-1].lower() in words:
            return keys[path][:2]
    return 1, 1


def yaml_problems(config: ExpenvConfig, repo: Path) -> tuple[list[FeatureProblem], Any]:
    """Problems of the repo folder and its feature_store.yaml, and Feast's RepoConfig when valid."""
    import yaml

    toml, tline, tcol = config_key_line(config)
    if not repo.is_dir():
        return [FeatureProblem(toml, tline, tcol, f"the feature repo {repo} does not exist "
                               "(fix [features] repo, or create it with `feast init`)", code="repo_missing")], None
    path = repo / YAML_NAME
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [FeatureProblem(toml, tline, tcol, f"no {YAML_NAME} in {repo}: it is not a Feast repository "
                               "(fix [features] repo, or create one with `feast init`)", code="feature_store_yaml")], None
    except (OSError, UnicodeDecodeError) as exc:
        return [FeatureProblem(shown, 1, 1, f"cannot read {YAML_NAME}: {exc}", code="feature_store_yaml")], None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = getattr(exc, "problem", None) or str(exc)
        return [FeatureProblem(shown, line, col, f"{YAML_NAME} is not valid YAML: {reason}",
                               code="feature_store_yaml")], None
    if not isinstance(data, dict):
        return [FeatureProblem(shown, 1, 1, f"{YAML_NAME} must be a mapping of settings (project, provider, "
                               "registry, ...)", code="feature_store_yaml")], None
    from expenv.services.features.feast_import import without_typechecks

    without_typechecks()
    from feast.repo_config import load_repo_config

    try:
        repo_config = load_repo_config(repo, path)
        repo_config.offline_store  # noqa: B018 - these validate their sections on first access
        repo_config.online_store  # noqa: B018
    except Exception as exc:  # noqa: BLE001 - Feast raises pydantic, its own and plain errors here
        message = str(getattr(exc, "_error_message", None) or exc)
        message = re.sub(r"\s*For further information visit \S+", "", message).strip()
        line, col = _locate_message(message, yaml_keys(text))
        return [FeatureProblem(shown, line, col, f"{YAML_NAME} is not a valid Feast config: {message}",
                               code="feature_store_yaml")], None
    return [], repo_config


def registry_file(repo: Path, repo_config) -> Path | None:
    """The local file of a file registry (None for SQL or remote registries)."""
    registry = repo_config.registry
    kind = getattr(registry, "registry_type", "file")
    path = str(getattr(registry, "path", "") or "")
    if kind != "file" or not path or "://" in path:
        return None
    p = Path(path)
    return p if p.is_absolute() else repo / p


def registry_line(repo: Path) -> tuple[str, int, int]:
    path = repo / YAML_NAME
    try:
        keys = yaml_keys(path.read_text(encoding="utf-8"))
    except OSError:
        keys = {}
    line, col, _ = keys.get(("registry",), (1, 1, None))
    return str(path), line, col


def python_problems(repo: Path) -> list[FeatureProblem]:
    """Syntax errors in the Python files `feast apply` would import."""
    problems = []
    for path in repo_python_files(repo):
        try:
            source = path.read_text(encoding="utf-8")
            ast.parse(source, filename=str(path))
        except SyntaxError as exc:
            problems.append(FeatureProblem(str(path), exc.lineno or 1, exc.offset or 1,
                                           f"Python error: {exc.msg} (feast apply cannot import this file)",
                                           code="python"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(FeatureProblem(str(path), 1, 1, f"cannot read: {exc}", code="python"))
    return problems


def source_problems(catalog, fallback: str) -> list[FeatureProblem]:
    """A feature view whose data source's file is missing: on the view's definition (else the source's)."""
    problems = []
    for view in catalog.views.values():
        for name in (view.source, view.stream_source):
            src = catalog.sources.get(name) if name else None
            if src is None or src.exists is not False:
                continue
            where = view.definition or src.definition
            path, line, col = (where.path, where.line, where.column) if where else (fallback, 1, 1)
            problems.append(FeatureProblem(
                path, line, col, f"feature view {view.name} reads data source {src.name}, whose "
                f"{'file' if src.path else 'table'} {src.path or src.table} does not exist"
                + (f" ({src.location})" if src.location and src.location != src.path else ""),
                code="source_missing"))
    return problems


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def traceback_problems(output: str, repo: Path) -> list[FeatureProblem]:
    """The repo file and line a failed `feast` command points at (its last frame in the repo)."""
    repo = repo.resolve()
    frames = [(Path(m.group(1)), int(m.group(2))) for m in _FRAME.finditer(output)]
    frames = [(p, n) for p, n in frames if p.is_absolute() and repo in p.resolve().parents]
    if not frames:
        return []
    lines = [line for line in output.strip().splitlines() if line.strip()]
    error = next((line.strip() for line in reversed(lines) if re.match(r"^[\w.]+(Error|Exception)\b", line.strip())),
                 lines[-1].strip() if lines else "feast failed")
    path, line = frames[-1]
    return [FeatureProblem(str(path), line, 1, error, code="python")]
