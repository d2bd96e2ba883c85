"""Daemon start-up: process start → `initialize` answer, and idle RSS after it, against pylsp.

Run: `.venv/bin/python bench/startup.py` (or `make bench`). Prints figures and ratios; asserts nothing.
Target (issue #2): cold start at most pylsp's, idle RSS at most 150 MB.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lsp.jsonrpc_client import RawLspClient  # noqa: E402

RUNS = 7
PEERS = {
    "expenv": [sys.executable, "-m", "expenv", "serve", "--log-level", "WARNING"],
    "pylsp": [sys.executable, "-m", "pylsp"],
}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_start(cmd: list[str], root: Path) -> tuple[float, float]:
    started = time.perf_counter()
    client = RawLspClient(cmd, cwd=str(root))
    client.request("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                                  "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}]})
    elapsed = time.perf_counter() - started
    client.notify("initialized", {})
    time.sleep(1.0)  # idle: let anything lazy settle
    rss = rss_mb(client.proc.pid)
    client.finish()
    return elapsed, rss


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "expenv.toml").write_text('[project]\nname = "bench"\n[data.raw]\nroots = ["data/raw"]\n')
        (root / "train.py").write_text("import os\nprint(os.getcwd())\n")
        figures = {}
        for name, cmd in PEERS.items():
            one_start(cmd, root)  # warm the page cache so both are measured alike
            samples = [one_start(cmd, root) for _ in range(RUNS)]
            figures[name] = (statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples))
    (e_start, e_rss), (p_start, p_rss) = figures["expenv"], figures["pylsp"]
    return [
        {"bench": "startup", "figure": "initialize answer (median of %d)" % RUNS, "expenv": f"{e_start * 1000:.0f} ms",
         "peer": f"pylsp {p_start * 1000:.0f} ms", "ratio": e_start / p_start, "target": "≤ 1.0"},
        {"bench": "startup", "figure": "idle RSS after initialize", "expenv": f"{e_rss:.0f} MB",
         "peer": f"pylsp {p_rss:.0f} MB", "ratio": e_rss / p_rss, "target": "expenv ≤ 150 MB"},
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['figure']}: expenv {row['expenv']}, {row['peer']}, ratio {row['ratio']:.2f} (target {row['target']})")
