"""The kernelspec of the production Python: which interpreter a notebook kernel runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

KERNEL_NAME = "expenv-production"
PRODUCTION_PYTHON = "/opt/venv/bin/python"


def default_python() -> str:
    """$EXPENV_KERNEL_PYTHON (set by devcontainer.json), else the production image's venv when it
    is here (inside the devcontainer), else this interpreter."""
    given = os.environ.get("EXPENV_KERNEL_PYTHON")
    if given:
        return given
    return PRODUCTION_PYTHON if Path(PRODUCTION_PYTHON).exists() else sys.executable


def kernelspec(python: str, display_name: str | None = None) -> dict[str, Any]:
    """kernel.json for `python -m ipykernel_launcher`. Interrupts are SIGINT to the kernel."""
    return {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name or f"Python (production image, {python})",
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"expenv": {"python": python}, "debugger": True},
    }


def install_kernelspec(kernels_dir: Path, python: str | None = None, name: str = KERNEL_NAME,
                       display_name: str | None = None) -> Path:
    """Write KERNELS_DIR/NAME/kernel.json (a Jupyter `kernels` folder, e.g. PREFIX/share/jupyter/kernels)."""
    folder = kernels_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kernel.json"
    path.write_text(json.dumps(kernelspec(python or default_python(), display_name), indent=2) + "\n")
    return path
