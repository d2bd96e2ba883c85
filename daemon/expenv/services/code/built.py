"""What an expression built from constants names, around the string literal under the cursor.

In `RAW / "customers.parquet"`, `os.path.join(RAW, "payments.csv")` or `f"{RAW}/usage"` the literal
alone names nothing: the expression does, and the sourcing policy reads it so (services/code/sourcing.py).
A hover on the literal names the same dataset as the policy, over the whole expression.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from expenv.services.code.constants import UNKNOWN, ConstantText
from expenv.services.code.strings import StringLiteral, blank_magics, node_span

BUILDERS = (ast.BinOp, ast.Call, ast.JoinedStr)
HINTS = ("/", "+", "join(", "Path(", "{")   # a literal on a line with none of these is not built upon
MAX_PARSED_CHARS = 200_000   # ast.parse of a module this size takes ~50 ms; of a minified one, far more

Span = tuple[int, int, int, int]


@lru_cache(maxsize=4)   # the same document text between hovers: parsed once
def _module(source: str) -> tuple[ast.Module, ConstantText, list[str]] | None:
    try:
        tree = ast.parse(blank_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None   # half-typed code: the literal alone is looked up
    return tree, ConstantText(tree), source.split("\n")


def built_around(source: str, lit: StringLiteral) -> tuple[str, Span] | None:
    """(the text the outermost expression around `lit` builds from constants, its span), or None when
    `lit` is not part of such an expression or a part is not a constant."""
    if lit.line != lit.end_line or len(source) > MAX_PARSED_CHARS:
        return None   # a huge (generated) module is not parsed on a hover: the literal alone is looked up
    line = source.split("\n", lit.line + 1)[lit.line]
    outside = line[:max(lit.start - 1, 0)] + line[lit.end + 1:]
    if not lit.is_fstring and not any(hint in outside for hint in HINTS):
        return None
    parsed = _module(source)
    if parsed is None:
        return None
    tree, values, lines = parsed
    inner = (lit.line, lit.start, lit.end_line, lit.end)
    best: tuple[str, Span] | None = None
    for node in ast.walk(tree):
        if not isinstance(node, BUILDERS) or not node.lineno - 1 <= lit.line <= node.end_lineno - 1:
            continue
        span = node_span(node, lines)
        if not (span[:2] <= inner[:2] and inner[2:] <= span[2:]):
            continue
        text = values.text(node, set())
        if text is None or UNKNOWN in text or text == lit.value:
            continue
        if best is None or _size(span) > _size(best[1]):
            best = (text, span)
    return best


def _size(span: Span) -> tuple[int, int]:
    return span[2] - span[0], span[3] - span[1]
