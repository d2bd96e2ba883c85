"""Load and validate `expenv.toml` into an `ExpenvConfig`, with located problems."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expenv.domain.config import (
    CONFIG_FILENAME,
    ClusterSection,
    ConfigError,
    ConfigProblem,
    CuratedDataSection,
    EnvironmentSection,
    ExpenvConfig,
    FeaturesSection,
    LspSection,
    PolicySection,
    ProjectSection,
    RawDataSection,
    Severity,
    TargetSection,
    TrackingSection,
)
from expenv.services.pipelines.definition import parse_pipelines
from expenv.services.toml_positions import key_positions, locate

CLUSTER_KINDS = ("dask", "spark", "ray")
CLUSTER_BACKENDS = ("local", "docker", "kubernetes")
TARGET_BACKENDS = ("local", "docker", "kubernetes")
TARGET_KINDS = ("job", "argo")
# A third party adds a backend by naming it as "package.module:Class" (as Feast and MLflow do).
_PLUGIN_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class _Key:
    """One allowed key: its TOML type(s), a readable type name, and an optional check."""

    types: tuple[type, ...]
    type_name: str
    check: Callable[[Any], str | None] | None = None


def _one_of(*choices: str, plugins: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value in choices or (plugins and _PLUGIN_REF.match(value)):
            return None
        hint = " or a 'package.module:Class' backend" if plugins else ""
        return f"must be one of {', '.join(repr(c) for c in choices)}{hint}, not {value!r}"

    return check


def _str_list(value: Any) -> str | None:
    if all(isinstance(v, str) and v for v in value):
        return None
    return "must be a list of non-empty strings"


def _positive(value: Any) -> str | None:
    return None if value >= 1 else f"must be at least 1, not {value}"


def _non_empty(value: Any) -> str | None:
    return None if value.strip() else "must not be empty"


def _positive_number(value: Any) -> str | None:
    return None if value > 0 else f"must be more than 0, not {value}"


def _memory_size(value: Any) -> str | None:
    from expenv.domain.clusters import memory_bytes

    try:
        return None if memory_bytes(value) > 0 else "must be more than 0"
    except ValueError:
        return f"must be a memory size like '2Gi', '512Mi' or '4GB', not {value!r}"


_STR = _Key((str,), "a string", _non_empty)
_INT = _Key((int,), "an integer", _positive)
_BOOL = _Key((bool,), "true or false")
_TABLE = _Key((dict,), "a table")
_STR_LIST = _Key((list,), "a list of strings", _str_list)
_SECONDS = _Key((int, float), "a number of seconds", _positive_number)

_SECTIONS: dict[str, dict[str, _Key]] = {
    "project": {"name": _STR},
    "environment": {"production_image": _STR, "requirements": _STR},
    "data.raw": {"roots": _STR_LIST, "storage_options": _TABLE},
    "data.curated": {"url": _STR, "schemas": _STR_LIST},
    "features": {"repo": _STR},
    "tracking": {"uri": _STR},
    "lsp": {"answer_timeout_ms": _INT},
    "policy": {"feature_store_required": _STR_LIST, "pipeline_paths": _STR_LIST},
}
_CLUSTER_KEYS = {
    "kind": _Key((str,), "a string", _one_of(*CLUSTER_KINDS)),
    "backend": _Key((str,), "a string", _one_of(*CLUSTER_BACKENDS, plugins=True)),
    "workers": _INT,
    "image": _STR,
    "namespace": _STR,
    "options": _TABLE,
    "cores": _Key((int, float), "a number", _positive_number),
    "memory": _Key((str,), "a string", _memory_size),
    "idle_timeout": _INT,
    "context": _STR,
    "secrets": _STR_LIST,
    "api_timeout": _SECONDS,
}
_TARGET_KEYS = {
    "backend": _Key((str,), "a string", _one_of(*TARGET_BACKENDS, plugins=True)),
    "kind": _Key((str,), "a string", _one_of(*TARGET_KINDS)),
    "namespace": _STR,
    "image": _STR,
    "context": _STR,
    "tracking_uri": _STR,
    "production_like": _BOOL,
    "include": _STR_LIST,
    "secrets": _STR_LIST,
    "api_timeout": _SECONDS,
}
_TOP_LEVEL = ("project", "environment", "data", "features", "tracking", "clusters", "targets", "policy",
              "pipelines", "lsp")


class _Validator:
    def __init__(self, text: str):
        self.positions = key_positions(text)
        self.problems: list[ConfigProblem] = []

    def problem(self, path: tuple[str, ...], message: str, severity: Severity = Severity.ERROR) -> None:
        line, column = locate(self.positions, path)
        self.problems.append(ConfigProblem(message, line, column, severity, ".".join(path)))

    def table(self, doc: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
        value: Any = doc
        for part in path:
            value = value.get(part, {}) if isinstance(value, dict) else {}
        if not isinstance(value, dict):
            self.problem(path, f"[{'.'.join(path)}] must be a table")
            return {}
        return value

    def unknown(self, table: dict[str, Any], path: tuple[str, ...], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
                where = ".".join(path) or "the top level"
                self.problem((*path, key), f"unknown key {key!r} in {where}{hint}", Severity.WARNING)

    def keys(self, table: dict[str, Any], path: tuple[str, ...], schema: dict[str, _Key]) -> dict[str, Any]:
        """Type-check the known keys of `table`; return the ones that passed."""
        self.unknown(table, path, tuple(schema))
        good: dict[str, Any] = {}
        for key, spec in schema.items():
            if key not in table:
                continue
            value = table[key]
            # bool is an int in Python; an integer key must not accept `true`.
            wrong_type = not isinstance(value, spec.types) or (
                isinstance(value, bool) and bool not in spec.types
            )
            if wrong_type:
                self.problem((*path, key), f"{'.'.join((*path, key))} must be {spec.type_name}, not {_toml_type(value)}")
                continue
            message = spec.check(value) if spec.check else None
            if message:
                self.problem((*path, key), f"{'.'.join((*path, key))} {message}")
                continue
            good[key] = value
        return good

    def named_tables(
        self, doc: dict[str, Any], section: str, schema: dict[str, _Key], required: tuple[str, ...]
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, table in self.table(doc, (section,)).items():
            path = (section, name)
            if not isinstance(table, dict):
                self.problem(path, f"{section}.{name} must be a table like [{section}.{name}]")
                continue
            if not _NAME.match(name):
                self.problem(path, f"{section} name {name!r} may hold only letters, digits, '.', '_' and '-'")
                continue
            values = self.keys(table, path, schema)
            missing = [k for k in required if k not in table]
            for key in missing:
                self.problem(path, f"[{section}.{name}] needs {key} = ...")
            if not missing and all(k in values for k in required):
                out[name] = values
        return out


def _toml_type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _syntax_problem(exc: tomllib.TOMLDecodeError) -> ConfigProblem:
    # tomllib ends its messages with "(at line L, column C)"; keep the words, locate the problem.
    match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
    line, column = (int(match[1]), int(match[2])) if match else (1, 1)
    if not match and "end of document" in str(exc):
        line = column = 1
    return ConfigProblem(f"TOML syntax error: {message}", line, column, Severity.ERROR)


def parse_config(text: str, root: Path) -> tuple[ExpenvConfig | None, list[ConfigProblem]]:
    """Parse config text. Returns the config (None when any error) and every problem found."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [_syntax_problem(exc)]
    v = _Validator(text)
    v.unknown(doc, (), _TOP_LEVEL)
    sections = {name: v.keys(v.table(doc, tuple(name.split("."))), tuple(name.split(".")), schema)
                for name, schema in _SECTIONS.items()}
    v.unknown(v.table(doc, ("data",)), ("data",), ("raw", "curated"))
    clusters = v.named_tables(doc, "clusters", _CLUSTER_KEYS, required=("kind",))
    targets = v.named_tables(doc, "targets", _TARGET_KEYS, required=("backend",))
    pipelines = parse_pipelines(v, doc)
    if any(p.severity is Severity.ERROR for p in v.problems):
        return None, v.problems
    raw = sections["data.raw"]
    policy = sections["policy"]
    config = ExpenvConfig(
        root=root,
        project=ProjectSection(name=sections["project"].get("name", root.name)),
        environment=EnvironmentSection(**sections["environment"]),
        raw=RawDataSection(roots=tuple(raw.get("roots", ())), storage_options=raw.get("storage_options", {})),
        curated=CuratedDataSection(url=sections["data.curated"].get("url"),
                                   schemas=_tuple_or_none(sections["data.curated"].get("schemas"))),
        features=FeaturesSection(**sections["features"]),
        tracking=TrackingSection(**sections["tracking"]),
        clusters={n: ClusterSection(name=n, **{**t, "secrets": tuple(t.get("secrets", ()))})
                  for n, t in clusters.items()},
        targets={n: TargetSection(name=n, **{**t, "include": tuple(t.get("include", ())),
                                                   "secrets": tuple(t.get("secrets", ()))})
                 for n, t in targets.items()},
        pipelines=pipelines,
        policy=PolicySection(
            feature_store_required=tuple(policy.get("feature_store_required", ())),
            pipeline_paths=tuple(policy.get("pipeline_paths", ("pipelines",))),
        ),
        lsp=LspSection(**sections["lsp"]),
        warnings=tuple(v.problems),
    )
    return config, v.problems


def _tuple_or_none(value: list[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def load_config(root: Path) -> ExpenvConfig:
    """Load `root/expenv.toml`. Raises `ConfigError` (located) or `FileNotFoundError`."""
    path = Path(root) / CONFIG_FILENAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no {CONFIG_FILENAME} in {root}: run `expenv new` or `expenv example create DIR`"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [ConfigProblem(f"not UTF-8 text: {exc.reason}")]) from None
    config, problems = parse_config(text, Path(root).resolve())
    if config is None:
        raise ConfigError(path, problems)
    return config
