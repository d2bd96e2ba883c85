"""Domain values → lsprotocol types. No I/O here."""

from __future__ import annotations

from lsprotocol import types

from expenv.domain.config import ConfigProblem, Severity

_SEVERITY = {Severity.ERROR: types.DiagnosticSeverity.Error, Severity.WARNING: types.DiagnosticSeverity.Warning}


def problems_to_diagnostics(problems: list[ConfigProblem]) -> list[types.Diagnostic]:
    out = []
    for p in problems:
        line, col = max(p.line - 1, 0), max(p.column - 1, 0)
        out.append(types.Diagnostic(
            range=types.Range(start=types.Position(line=line, character=col),
                              end=types.Position(line=line, character=col + max(len(p.key.split(".")[-1]), 1))),
            message=p.message,
            severity=_SEVERITY[p.severity],
            source="expenv",
            code=p.key or None,
        ))
    return out
