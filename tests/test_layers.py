"""The layering of DESIGN.md holds, and the daemon starts without the heavy engines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

HEAVY = ["mlflow", "feast", "pyspark", "kubernetes", "docker", "duckdb", "pyarrow", "pandas", "ray", "dask", "git"]


def test_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), str(REPO / "pyproject.toml")],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_daemon_modules_do_not_import_heavy_engines():
    code = (
        "import sys, json\n"
        "import expenv.lsp.server, expenv.lsp.serve\n"
        "s = expenv.lsp.server.create_server()\n"
        "import expenv.services.status, expenv.services.workspace, expenv.cli.main\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_only_the_lsp_layer_imports_pygls():
    offenders = []
    for path in (REPO / "daemon" / "expenv").rglob("*.py"):
        if "lsp" in path.relative_to(REPO / "daemon" / "expenv").parts:
            continue
        text = path.read_text()
        if "import pygls" in text or "from pygls" in text or "lsprotocol" in text:
            offenders.append(str(path))
    assert offenders == []
