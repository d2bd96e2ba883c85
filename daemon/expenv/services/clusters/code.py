"""Cluster-aware reading of Python code: calls that build their own compute (to offer "Run this on
cluster profile NAME"), and what Spark Connect cannot run (to say so before the user attaches).

Pure text in, positions out (0-based lines and columns, as the editor counts them).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from expenv.services.code.strings import blank_magics

# Spark Connect has no JVM-side driver objects in the client: these fail at run time.
SPARK_CONNECT_UNSUPPORTED = {
    "sparkContext": "Spark Connect has no SparkContext: use the SparkSession itself (spark.conf, spark.range, "
                    "spark.createDataFrame, spark.read)",
    "rdd": "RDD APIs do not exist over Spark Connect: use DataFrame operations (mapInPandas, applyInPandas, "
           "or a pandas UDF for row-wise Python)",
    "parallelize": "SparkContext.parallelize does not exist over Spark Connect: use spark.createDataFrame",
    "_jvm": "the JVM gateway is not reachable over Spark Connect: use the DataFrame API",
    "_jsc": "the JVM gateway is not reachable over Spark Connect: use the DataFrame API",
    "_jdf": "the JVM gateway is not reachable over Spark Connect: use the DataFrame API",
    "sqlContext": "SQLContext does not exist over Spark Connect: use spark.sql",
}
_SPARK_CONNECT_HINTS = re.compile(r"\.remote\(|sc://|SPARK_REMOTE|pyspark\.sql\.connect|spark\.connect\.enabled")


@dataclass(frozen=True)
class CodeFinding:
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    code: str = "spark_connect"


@dataclass(frozen=True)
class ComputeCall:
    """A call that starts its own compute: `kind` is the cluster kind that could replace it."""

    kind: str            # dask | spark | ray
    what: str            # "LocalCluster(...)", "Client()", "SparkSession...getOrCreate()", "ray.init()"
    line: int
    column: int
    end_line: int
    end_column: int


def _chars(lines: list[str], line: int, byte_column: int) -> int:
    """ast counts columns in UTF-8 bytes; the editor in characters."""
    text = lines[line] if 0 <= line < len(lines) else ""
    return len(text.encode("utf-8")[:byte_column].decode("utf-8", "ignore"))


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(blank_magics(source))
    except SyntaxError:
        return None


def talks_to_spark_connect(*sources: str) -> bool:
    return any(_SPARK_CONNECT_HINTS.search(s) for s in sources if s)


def spark_connect_findings(source: str, context: str = "") -> list[CodeFinding]:
    """Uses of what Spark Connect cannot run, when `source` (or its notebook, `context`) talks to
    a Spark Connect server."""
    if not talks_to_spark_connect(source, context):
        return []
    tree = _parse(source)
    if tree is None:
        return []
    lines, found = source.split("\n"), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in SPARK_CONNECT_UNSUPPORTED:
            line, end = node.end_lineno - 1, _chars(lines, node.end_lineno - 1, node.end_col_offset or 0)
            found.append(CodeFinding(line, end - len(node.attr), line, end,
                                     f"{node.attr}: {SPARK_CONNECT_UNSUPPORTED[node.attr]}"))
        elif isinstance(node, ast.Name) and node.id == "SparkContext":
            line = node.lineno - 1
            found.append(CodeFinding(line, _chars(lines, line, node.col_offset), line,
                                     _chars(lines, line, node.end_col_offset or 0),
                                     f"SparkContext: {SPARK_CONNECT_UNSUPPORTED['sparkContext']}"))
    return sorted(found, key=lambda f: (f.line, f.column))


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _name(node.func) + "()"
    return ""


def _chain_has(node: ast.AST, attr: str) -> bool:
    while isinstance(node, (ast.Call, ast.Attribute)):
        if isinstance(node, ast.Attribute) and node.attr == attr:
            return True
        node = node.func if isinstance(node, ast.Call) else node.value
    return False


def compute_calls(source: str) -> list[ComputeCall]:
    """`LocalCluster(...)`, `Client()` with no address, `SparkSession.builder...getOrCreate()` with
    no `.remote(...)`, and `ray.init()` with no address."""
    tree = _parse(source)
    if tree is None:
        return []
    lines, found = source.split("\n"), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        kind = what = None
        if name.split(".")[-1] == "LocalCluster":
            kind, what = "dask", "LocalCluster(...)"
        elif name.split(".")[-1] == "Client" and not node.args and not any(k.arg == "address" for k in node.keywords):
            kind, what = "dask", "Client()"
        elif name.endswith(".getOrCreate") and "builder" in name and not _chain_has(node.func, "remote"):
            kind, what = "spark", "SparkSession.builder...getOrCreate()"
        elif name == "ray.init" and not node.args and not any(k.arg == "address" for k in node.keywords):
            kind, what = "ray", "ray.init()"
        if kind:
            start, end = node.lineno - 1, node.end_lineno - 1
            found.append(ComputeCall(kind, what, start, _chars(lines, start, node.col_offset), end,
                                     _chars(lines, end, node.end_col_offset or 0)))
    return sorted(found, key=lambda c: (c.line, c.column))


def connected_call(call: ComputeCall, source: str, address: str) -> str:
    """The text that replaces `call` so that it connects to the cluster at `address`."""
    if call.what == "LocalCluster(...)":
        return repr(address)   # `Client(cluster)` then connects to the address
    if call.what == "Client()":
        head = _slice(source, call).rsplit("(", 1)[0]
        return f"{head}({address!r})"
    if call.kind == "spark":
        text = _slice(source, call)
        return re.sub(r"\.getOrCreate\(\s*\)$", f".remote({address!r}).getOrCreate()", text.rstrip())
    return f"ray.init({address!r})"


def _slice(source: str, call: ComputeCall) -> str:
    lines = source.split("\n")
    if call.line == call.end_line:
        return lines[call.line][call.column:call.end_column]
    return "\n".join([lines[call.line][call.column:], *lines[call.line + 1:call.end_line],
                      lines[call.end_line][:call.end_column]])
