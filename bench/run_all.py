"""`make bench`: run every benchmark module under bench/ and print one table of figures and ratios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent


def main() -> int:
    table = Table(title="expenv benchmarks (ratios against a peer measured in the same run)")
    for column in ("bench", "figure", "expenv", "peer", "ratio", "target"):
        table.add_column(column)
    failed = []
    for path in sorted(HERE.glob("*.py")):
        if path.name in ("run_all.py",) or path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
            rows = module.run()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed.append(f"{path.name}: {exc}")
            continue
        for row in rows:
            table.add_row(row["bench"], row["figure"], row["expenv"], row["peer"], f"{row['ratio']:.2f}", row["target"])
    Console().print(table)
    for line in failed:
        print(f"benchmark failed: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
