"""Human output (rich) and `--json` output (the same shape the LSP command returns)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from expenv.domain.secrets import RedactingFormatter, RedactingStream, redact, redact_data


class _RedactingConsole(Console):
    """Human output never shows a credential, whatever a message quotes."""

    @property
    def file(self):
        return RedactingStream(super().file)

    @file.setter
    def file(self, new_file) -> None:
        Console.file.fset(self, new_file)


err = _RedactingConsole(stderr=True, soft_wrap=True)
out = _RedactingConsole(soft_wrap=True)


def emit_json(data: Any) -> None:
    text = json.dumps(redact_data(data), indent=2, default=lambda o: redact(str(o)))
    sys.stdout.write(text + "\n")


def configure_cli_logging() -> None:
    """Warnings and errors on stderr, one line each, redacted; and redacted uncaught tracebacks."""
    import logging
    import traceback

    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("expenv: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])

    def excepthook(kind, value, tb) -> None:
        sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))) or "")

    sys.excepthook = excepthook


def parts_table(title: str, parts: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("part")
    table.add_column("state")
    table.add_column("detail")
    table.add_column("fix")
    for part in parts.values():
        state = "[green]ok[/]" if part["ok"] else ("[red]missing[/]" if part["required"] else "[yellow]optional[/]")
        table.add_row(escape(part["name"]), state, escape(part["detail"]), escape(part.get("fix") or ""))
    return table


def promotion_line(promotion: dict[str, Any]) -> str:
    """`last promotion: TAG at COMMIT (DATE); model NAME version N @ALIAS (from the registry)`."""
    parts = [f"{promotion['tag']} at {promotion['commit'][:12]} ({promotion['date']})"] if "tag" in promotion else []
    if model := promotion.get("model"):
        parts.append(f"model {model['name']} version {model['version']} @{model['alias']} (from the {model['source']})")
    return "last promotion: " + "; ".join(parts)


def print_report(report: dict[str, Any]) -> None:
    out.print(escape(report.get("summary") or f"expenv {report['version']}"))
    out.print(parts_table("machine", report["parts"]))
    for ws in report["workspaces"]:
        config = ws["config"]
        name = config["project"]["name"] if config else "(no valid config)"
        out.print(parts_table(f"workspace {ws['root']} — project {name}", ws["parts"]))
        if stage := ws.get("stage"):
            out.print(escape(f"branch {stage['branch'] or '(none)'}: stage {stage['stage']}"))
        if promotion := ws.get("last_promotion"):
            out.print(escape(promotion_line(promotion)))
        for p in ws["problems"]:
            colour = "red" if p["severity"] == "error" else "yellow"
            out.print(f"[{colour}]{escape(str(ws['config_file']))}:{p['line']}:{p['column']}: {p['severity']}: "
                      f"{escape(p['message'])}[/]")
