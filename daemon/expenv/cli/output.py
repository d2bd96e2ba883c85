"""Human output (rich) and `--json` output (the same shape the LSP command returns)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


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


def print_report(report: dict[str, Any]) -> None:
    out.print(escape(report.get("summary") or f"expenv {report['version']}"))
    out.print(parts_table("machine", report["parts"]))
    for ws in report["workspaces"]:
        config = ws["config"]
        name = config["project"]["name"] if config else "(no valid config)"
        out.print(parts_table(f"workspace {ws['root']} — project {name}", ws["parts"]))
        for p in ws["problems"]:
            colour = "red" if p["severity"] == "error" else "yellow"
            out.print(f"[{colour}]{escape(str(ws['config_file']))}:{p['line']}:{p['column']}: {p['severity']}: "
                      f"{escape(p['message'])}[/]")
