"""String literals of Python source, with positions and the call they are an argument of.

Uses `tokenize`, not `ast`, so half-typed code still yields the literals before the error,
and IPython magics (`%pip`, `!ls`) in notebook cells are blanked rather than fatal.
"""

from __future__ import annotations

import ast
import functools
import io
import itertools
import operator
import re
import tokenize
from dataclasses import dataclass

_PREFIX = re.compile(r"^([rRbBuUfF]{0,2})('''|\"\"\"|'|\")")


@dataclass(frozen=True)
class StringLiteral:
    """A literal's content (between the quotes) and where it sits, 0-based lines and columns."""

    value: str
    line: int
    start: int
    end_line: int
    end: int
    call: str | None  # dotted callee when the literal is an argument, e.g. "pd.read_parquet"
    is_fstring: bool = False

    def contains(self, line: int, character: int) -> bool:
        after_start = (line, character) >= (self.line, self.start)
        before_end = (line, character) <= (self.end_line, self.end)
        return after_start and before_end

    def offset_of(self, line: int, character: int, lines: list[str]) -> int:
        """Offset in `value` of a position inside the literal (exact when there are no escapes)."""
        if line == self.line:
            return character - self.start
        offset = len(lines[self.line]) - self.start + 1
        for middle in range(self.line + 1, line):
            offset += len(lines[middle]) + 1
        return offset + character

    def position_at(self, offset: int) -> tuple[int, int]:
        """The (line, column) of an offset into `value` (exact when there are no escapes)."""
        line, column = self.line, self.start
        for ch in self.value[:offset]:
            if ch == "\n":
                line, column = line + 1, 0
            else:
                column += 1
        return line, column


def blank_magics(source: str) -> str:
    """Replace IPython magic and shell lines with blank lines (keeps line numbers)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _decode(token: str) -> tuple[str, bool, int, int]:
    """(content, is_fstring, width of prefix+quote, width of the closing quote) of a STRING token."""
    match = _PREFIX.match(token)
    if not match:
        return token, False, 0, 0
    prefix, quote = match.groups()
    content = token[len(prefix) + len(quote): len(token) - len(quote)]
    is_f = "f" in prefix.lower()
    if "\\" in content and not is_f and "b" not in prefix.lower():
        try:
            content = ast.literal_eval(token)
        except (ValueError, SyntaxError):
            pass
    return content, is_f, len(prefix) + len(quote), len(quote)


def _callee(tokens: list[tokenize.TokenInfo]) -> str | None:
    """The dotted name right before an opening parenthesis: NAME ('.' NAME)*."""
    parts: list[str] = []
    i = len(tokens) - 1
    while i >= 0:
        tok = tokens[i]
        if tok.type == tokenize.NAME and (not parts or parts[-1] == "."):
            parts.append(tok.string)
        elif tok.type == tokenize.OP and tok.string == "." and parts and parts[-1] != ".":
            parts.append(".")
        else:
            break
        i -= 1
    if not parts or parts[-1] == ".":
        return None
    return "".join(reversed(parts))


def string_literals(source: str) -> list[StringLiteral]:
    return list(_literals(source))


@functools.lru_cache(maxsize=16)
def _literals(source: str) -> tuple[StringLiteral, ...]:
    """Tokenizing is most of a hover's cost in a long document (~0.3 ms a line), and hovers,
    diagnostics and code actions all ask again about the same unchanged text: keep the last few."""
    out: list[StringLiteral] = []
    seen: list[tokenize.TokenInfo] = []
    calls: list[str | None] = []
    readline = io.StringIO(blank_magics(source)).readline
    try:
        for tok in tokenize.generate_tokens(readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                calls.append(_callee(seen) if tok.string == "(" else None)
            elif tok.type == tokenize.OP and tok.string in ")]}":
                if calls:
                    calls.pop()
            elif tok.type == tokenize.STRING:
                content, is_f, head, tail = _decode(tok.string)
                (sl, sc), (el, ec) = tok.start, tok.end
                out.append(StringLiteral(content, sl - 1, sc + head, el - 1, ec - tail,
                                         calls[-1] if calls else None, is_f))
            if tok.type not in (tokenize.NL, tokenize.COMMENT):
                seen.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # half-typed code: keep what was read before the error
    return tuple(out)


def ast_column(lines: list[str], lit: StringLiteral) -> int:
    """ast's byte column of the literal's opening (prefix included) from the tokenizer's position."""
    line = lines[lit.line] if lit.line < len(lines) else ""
    start = lit.start
    while start > 0 and line[start - 1] in "\"'":
        start -= 1
    while start > 0 and line[start - 1] in "rRbBuUfF":
        start -= 1
    return len(line[:start].encode("utf-8"))


def node_span(node: ast.AST, lines: list[str]) -> tuple[int, int, int, int]:
    """0-based (line, char, end_line, end_char) of an ast node (whose columns are UTF-8 bytes)."""
    def char(lineno: int, byte_col: int) -> int:
        text = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    return (node.lineno - 1, char(node.lineno, node.col_offset),
            node.end_lineno - 1, char(node.end_lineno, node.end_col_offset))


# A document longer than this is tokenized only around the position asked about: tokenizing costs
# ~0.3 ms a line in pure Python, so a hover in a 27,000-line file took 9 s of the event loop.
WINDOW_FROM_LINES = 400
WINDOW_LINES = 40
# Lines are no help in a generated or minified file's one long line: past this many characters
# around the position, a hover or completion reads no literal (3.6 MB on one line took 5 s).
MAX_SCAN_CHARS = 200_000
# Comments and string literals: the only lexemes inside which a line start is not code.
_LEXEME = re.compile("|".join([
    r"#[^\n]*",
    r"'''(?:[^\\]|\\.)*?'''",
    r'"""(?:[^\\]|\\.)*?"""',
    r"'(?:[^'\\\n]|\\.)*'",
    r'"(?:[^"\\\n]|\\.)*"',
]), re.DOTALL)


def literal_at(source: str, line: int, character: int) -> StringLiteral | None:
    first = 0
    if source.count("\n") >= WINDOW_FROM_LINES:
        source, first = _window(source, line)
    if len(source) > MAX_SCAN_CHARS:
        return None
    for lit in string_literals(source):
        if lit.contains(line - first, character):
            return _shifted(lit, first)
    return None


def _window(source: str, line: int) -> tuple[str, int]:
    """About WINDOW_LINES lines either side of `line`, widened so that neither end cuts a
    multi-line string, and the document line that the window's first line stands for."""
    starts, spans = _layout(source)
    first, last = max(0, line - WINDOW_LINES), min(len(starts) - 1, line + WINDOW_LINES)
    lo, hi = starts[first], starts[last + 1] if last + 1 < len(starts) else len(source)
    # Few spans: only strings that cross a line end. Moving an end may land it in the string
    # before (or after) on the same line, so the opening end walks them backwards, the closing forwards.
    for start, end in reversed(spans):
        if start < lo < end:   # the window would open inside this string
            lo = source.rfind("\n", 0, start) + 1
    for start, end in spans:
        if start < hi < end:   # ... or close inside it
            hi = source.find("\n", end)
            hi = len(source) if hi < 0 else hi + 1
    # The window may open inside brackets or at any indentation. Inside brackets the tokenizer
    # checks no indentation, so the window is read as inside enough of them: a closing bracket
    # whose opening is above the window closes one of these, and nothing is refused.
    return _OPEN_BRACKETS + source[lo:hi], source.count("\n", 0, lo) - 1


@functools.lru_cache(maxsize=4)
def _layout(source: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Line start offsets, and the spans of the strings that cross a line end (one scan of the
    document's comments and strings, kept while the document does not change)."""
    lengths = itertools.accumulate(map(len, source.split("\n")[:-1]))   # map, not a loop: C speed
    starts = [0, *map(operator.add, lengths, itertools.count(1))]
    if '"""' not in source and "\'\'\'" not in source and "\\\n" not in source:
        return starts, []   # no string can cross a line end: skip the scan
    spans = [m.span() for m in _LEXEME.finditer(source) if "\n" in m.group()]
    return starts, spans


_OPEN_BRACKETS = "(" * 64 + "\n"


def _shifted(lit: StringLiteral, lines: int) -> StringLiteral:
    if not lines:
        return lit
    return StringLiteral(lit.value, lit.line + lines, lit.start, lit.end_line + lines, lit.end, lit.call, lit.is_fstring)


def open_string_before(line_text: str) -> tuple[int, str] | None:
    """For completion while typing: (start column, content so far) of a string still open at
    the end of `line_text` (the line up to the cursor), or None."""
    i, quote, start = 0, None, 0
    while i < len(line_text):
        ch = line_text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if line_text.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif ch == "#":
            return None
        elif ch in "'\"":
            quote = ch * 3 if line_text.startswith(ch * 3, i) else ch
            start = i + len(quote)
            i = start
            continue
        i += 1
    return (start, line_text[start:]) if quote else None
