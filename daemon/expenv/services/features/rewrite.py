"""The code action behind the sourcing policy: rewrite a direct raw/curated read as a retrieval
through the feature service that covers the columns it uses.

The read (a `DataRead` from `find_reads`) is traced to the call that loads it: the call the
literal is an argument of, or, when the literal is a module constant (`TABLE = "curated.x"`), the
calls that use the constant. The call and its materialiser (`.df()`, `.to_pandas()`, ...) are
replaced by a call of a generated helper that runs
`store.get_historical_features(entity_df=..., features=store.get_feature_service(...)).to_df()`.
The entity rows come from a registered data source that no feature view reads and that carries
the service's join keys (the label events, as in the example's `churn_labels`); without one, the
entity keys of the original read are passed in. When no service covers the columns, the action
is a scaffold of a new feature view for the dataset instead (see `scaffold.py`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from expenv.domain.config import ExpenvConfig
from expenv.domain.data import Layer
from expenv.domain.features import FeatureServiceInfo, FeatureStoreRewrite, TextEdit
from expenv.services.code.sql import looks_like_sql
from expenv.services.code.strings import node_span

# Calls that turn a lazy relation into a dataframe: part of the read, replaced with it.
MATERIALISERS = {"df", "fetchdf", "fetch_df", "to_df", "to_pandas", "toPandas", "pl", "arrow", "fetch_arrow_table",
                 "collect", "compute", "read", "load"}
# Calls that read a dataset named by a path or table argument (SQL text is a read whatever the callee).
READERS = {"read_parquet", "read_csv", "read_json", "read_table", "read_sql", "read_sql_query", "read_sql_table",
           "read_feather", "read_orc", "read_ndjson", "scan_parquet", "scan_csv", "scan_ndjson", "read_delta",
           "parquet", "csv", "json", "table", "dataset", "from_parquet", "sql", "query", "execute"}
_SELECT = re.compile(r"^\s*select\s+(?:distinct\s+)?(.*?)\s+from\s", re.IGNORECASE | re.DOTALL)
_IDENT = re.compile(r'^"?([A-Za-z_][\w$]*)"?$')


@dataclass
class _ReadSite:
    call: ast.expr  # the whole read expression to replace (the call and its materialisers)
    sql: str | None
    columns: list[str] | None  # explicit column list, None when the read takes every column


# ---- positions -------------------------------------------------------------------------------


def _contains(span: tuple[int, int, int, int], line: int, char: int) -> bool:
    return (span[0], span[1]) <= (line, char) <= (span[2], span[3])


# ---- finding the read ------------------------------------------------------------------------


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _literal_node(tree: ast.AST, lines: list[str], line: int, char: int) -> ast.expr | None:
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            if _contains(node_span(node, lines), line, char):
                if best is None or (node.lineno, node.col_offset) >= (best.lineno, best.col_offset):
                    best = node
    return best


def _extend(call: ast.expr, parents: dict[int, ast.AST]) -> ast.expr:
    """The call plus any materialiser chained on it: `con.sql(q)` -> `con.sql(q).df()`."""
    while True:
        attr = parents.get(id(call))
        outer = parents.get(id(attr)) if attr is not None else None
        if (isinstance(attr, ast.Attribute) and attr.attr in MATERIALISERS and isinstance(outer, ast.Call)
                and outer.func is attr):
            call = outer
        else:
            return call


def _enclosing_call(expr: ast.expr, parents: dict[int, ast.AST]) -> ast.Call | None:
    node: ast.AST = expr
    for _ in range(4):  # `Path(root) / "x.parquet"` and the like sit a level or two below the call
        parent = parents.get(id(node))
        if isinstance(parent, ast.Call) and node is not parent.func:
            return parent
        if not isinstance(parent, (ast.BinOp, ast.Call, ast.keyword, ast.FormattedValue, ast.JoinedStr)):
            return None
        node = parent
    return None


def _sql_text(expr: ast.expr, constant: tuple[str, str] | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.Name) and constant and expr.id == constant[0]:
        return constant[1]
    if isinstance(expr, ast.JoinedStr):
        parts = []
        for value in expr.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name) and constant \
                    and value.value.id == constant[0]:
                parts.append(constant[1])
            else:
                parts.append("{}")
        return "".join(parts)
    return None


def select_columns(sql: str) -> list[str] | None | bool:
    """Columns a SELECT names: a list; None for `*`; False when an item is not a plain column."""
    match = _SELECT.match(sql)
    if not match:
        return None
    items, depth, current = [], 0, ""
    for ch in match.group(1):
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    items.append(current)
    columns = []
    for item in (i.strip() for i in items):
        if item == "*" or item.endswith(".*"):
            return None
        alias = re.split(r"\s+as\s+", item, flags=re.IGNORECASE)
        name = alias[-1].strip() if len(alias) > 1 else item.rsplit(".", 1)[-1]
        ident = _IDENT.match(name.strip())
        if not ident:
            return False
        columns.append(ident.group(1))
    return columns


def _explicit_columns(call: ast.Call) -> list[str] | None:
    for kw in call.keywords:
        if kw.arg in ("columns", "usecols") and isinstance(kw.value, (ast.List, ast.Tuple)):
            names = [e.value for e in kw.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if len(names) == len(kw.value.elts):
                return names
    return None


def read_sites(source: str, read) -> tuple[list[_ReadSite], ast.Assign | None] | None:
    """The read expressions behind `read`, and the constant assignment they use (if any)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    lines = source.split("\n")
    literal = _literal_node(tree, lines, read.line, read.start)
    if literal is None:
        return None
    parents = _parents(tree)
    parent = parents.get(id(literal))
    uses: list[ast.expr] = []
    assign = None
    constant = None
    if isinstance(parent, ast.Assign) and parent.value is literal and len(parent.targets) == 1 \
            and isinstance(parent.targets[0], ast.Name) and isinstance(literal, ast.Constant):
        assign, constant = parent, (parent.targets[0].id, literal.value)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == constant[0] and isinstance(node.ctx, ast.Load):
                up = parents.get(id(node))
                uses.append(parents.get(id(up)) if isinstance(up, ast.FormattedValue) else node)
    else:
        uses.append(literal)
    sites = []
    for use in uses:
        call = _enclosing_call(use, parents)
        if call is None:
            continue
        sql = _sql_text(use, constant)
        if sql is not None and looks_like_sql(sql):
            columns = select_columns(sql)
        else:
            callee = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if constant is not None and callee not in READERS:
                continue  # the constant is used for something else than reading (a log line, a label)
            sql, columns = None, _explicit_columns(call)
        if columns is False:
            columns = ["<expression>"]  # an expression no feature can cover: never rewritten
        sites.append(_ReadSite(_extend(call, parents), sql, columns))
    # the constant goes only when every use of it was a read that is rewritten
    return sites, (assign if assign is not None and len(sites) == len(uses) else None)


# ---- choosing the feature service --------------------------------------------------------------


def _dataset_columns(lookup, dataset: str) -> list[str] | None:
    if lookup is None:
        return None
    try:
        return [c.name for c in lookup.schema(dataset).columns]
    except Exception:  # noqa: BLE001 - DataError and engine errors: the columns stay unknown
        return None


def _parquet_columns(location: str | None) -> list[str] | None:
    if not location or "://" in location or not Path(location).exists():
        return None
    try:
        import pyarrow.parquet as pq

        return list(pq.read_schema(location).names)
    except Exception:  # noqa: BLE001
        return None


def entity_sources(catalog) -> dict[str, list[str]]:
    """Registered file sources that no view reads (label / entity events) -> their columns."""
    used = {s for v in catalog.views.values() for s in (v.source, v.stream_source) if s}
    used |= {s.batch_source for s in catalog.sources.values() if s.batch_source}
    out = {}
    for src in catalog.sources.values():
        if src.name in used or src.kind != "file":
            continue
        columns = _parquet_columns(src.location)
        if columns:
            out[src.name] = columns
    return out


def choose_service(catalog, used: list[str]) -> tuple[FeatureServiceInfo, str | None, list[str]] | None:
    """(service, entity source or None, its join keys) covering `used`, the smallest first."""
    labels = entity_sources(catalog)
    best = None
    for svc in catalog.services.values():
        keys = list(dict.fromkeys(k for v in svc.views if v in catalog.views for k in catalog.views[v].join_keys))
        features = set(svc.feature_names)
        source = next((n for n, cols in sorted(labels.items()) if set(keys) <= set(cols)
                       and set(used) <= features | set(cols)), None)
        entity_cols = set(labels[source]) if source else {*keys, "event_timestamp"}
        if not keys or not set(used) <= features | entity_cols:
            continue
        rank = (source is None, len(features), svc.name)
        if best is None or rank < best[0]:
            best = (rank, svc, source, keys)
    return (best[1], best[2], best[3]) if best else None


# ---- the edits ---------------------------------------------------------------------------------


def _ident(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_").lower() or "features"
    return name if not name[0].isdigit() else f"_{name}"


def _repo_expression(path: Path | None, config: ExpenvConfig, repo: Path) -> str:
    root = config.root.resolve()
    rel = repo.relative_to(root).as_posix() if repo.is_relative_to(root) else str(repo)
    if path is not None and path.suffix == ".py" and path.resolve().is_relative_to(root):
        depth = len(path.resolve().parent.relative_to(root).parts)
        base = "Path(__file__).resolve().parent" if depth == 0 else f"Path(__file__).resolve().parents[{depth}]"
        return f'{base} / "{rel}"' if rel != "." else base
    if path is not None and path.resolve().is_relative_to(root):
        import os

        return f'Path("{Path(os.path.relpath(repo, path.resolve().parent)).as_posix()}")'
    return f'Path("{repo}")'


def helper_source(name: str, service: str, dataset: str, entity_source: str | None, keys: list[str],
                  timestamp: str, repo_expr: str, columns: list[str] | None) -> str:
    import textwrap

    sort = ", ".join(f'"{c}"' for c in [*keys, timestamp])
    if columns:
        listed = textwrap.fill(", ".join(f'"{c}"' for c in columns), width=96, initial_indent=" " * 8,
                               subsequent_indent=" " * 8, break_on_hyphens=False)
        pick = f"\n    return df[[\n{listed},\n    ]]"
    else:
        pick = "\n    return df"
    if entity_source:
        rows = (f"the label events of the Feast data source {entity_source}",
                f'''    if entity_df is None:
        events = store.get_data_source("{entity_source}")
        events_path = Path(events.path)
        entity_df = pd.read_parquet(events_path if events_path.is_absolute() else repo / events_path)
''')
    else:
        rows = ("the given entity rows (entity keys and event timestamps)", "")
    return f'''def {name}(entity_df=None):
    """Rows of feature service {service} from the feature store, joined point-in-time onto
    {rows[0]}.
    (expenv rewrote a direct read of {dataset} into this retrieval.)"""
    from pathlib import Path

    import pandas as pd
    from feast import FeatureStore

    repo = {repo_expr}
    store = FeatureStore(repo_path=str(repo))
{rows[1]}    features = store.get_feature_service("{service}")
    job = store.get_historical_features(entity_df=entity_df, features=features)
    df = job.to_df().sort_values([{sort}], kind="stable").reset_index(drop=True){pick}


'''


def _top_level_line(tree: ast.Module, node: ast.AST) -> int:
    """0-based first line of the top-level statement holding `node` (decorators included)."""
    for stmt in tree.body:
        if stmt.lineno <= node.lineno <= stmt.end_lineno:
            decorators = getattr(stmt, "decorator_list", [])
            return min([stmt.lineno, *(d.lineno for d in decorators)]) - 1
    return node.lineno - 1


def rewrite_to_feature_store(source: str, read, *, catalog, config: ExpenvConfig, lookup=None,
                             path: Path | None = None) -> FeatureStoreRewrite | None:
    """The code action for `read` (a DataRead in `source`): a retrieval when a feature service
    covers its columns, else a feature view scaffold. None for reads that are not raw/curated."""
    if read.layer not in (Layer.RAW, Layer.CURATED):
        return None
    found = read_sites(source, read)
    sites, assign = found if found else ([], None)
    dataset_cols = _dataset_columns(lookup, read.dataset)
    used: list[str] = []
    for site in sites:
        used += site.columns if site.columns is not None else (dataset_cols or ["<unknown columns>"])
    used = list(dict.fromkeys(used))
    choice = choose_service(catalog, used) if sites else None
    if choice is None:
        from expenv.services.features.scaffold import scaffold_view

        why = ("no feature service covers the columns read (" + ", ".join(used[:12]) + ")") if sites \
            else "the read could not be traced to a call"
        return scaffold_view(read, catalog=catalog, config=config, lookup=lookup, note=why)
    service, entity_source, keys = choice
    tree = ast.parse(source)
    lines = source.split("\n")
    timestamp = (catalog.sources[entity_source].timestamp_field if entity_source else None) or "event_timestamp"
    explicit = used if all(s.columns is not None for s in sites) else dataset_cols
    name = f"features_from_{_ident(service.name)}"
    edits: list[TextEdit] = []
    notes = [f"reads feature service {service.name} instead of {read.layer.value} data {read.dataset}"]
    if not any(isinstance(s, ast.FunctionDef) and s.name == name for s in tree.body):
        repo_expr = _repo_expression(path, config, catalog.repo)
        helper = helper_source(name, service.name, read.dataset, entity_source, keys, timestamp, repo_expr, explicit)
        at = min(_top_level_line(tree, s.call) for s in sites)
        edits.append(TextEdit(at, 0, at, 0, helper))
    for site in sites:
        line, char, end_line, end_char = node_span(site.call, lines)
        if entity_source:
            call = f"{name}()"
        else:
            original = ast.get_source_segment(source, site.call) or ""
            cols = ", ".join(f'"{c}"' for c in [*keys, timestamp])
            call = f"{name}(entity_df=({original})[[{cols}]])"
            notes.append("the entity rows still come from the original read: register the label events as a "
                         "Feast data source to read only from the feature store")
        edits.append(TextEdit(line, char, end_line, end_char, call))
    if assign is not None:  # the constant named the dataset only for these reads: drop it
        start, end = assign.lineno - 1, assign.end_lineno
        edits.append(TextEdit(start, 0, end, 0, ""))
    return FeatureStoreRewrite("retrieval", f"Read through feature service {service.name} (feature store)",
                               edits, service=service.name, notes=notes)
