"""What a user sees in the `make up` editor (code-server in the devcontainer, where the daemon and the
kernel run on the production image), and how that user reads it back: the CLI in the devcontainer's
terminal (`Devcontainer.cli`) and MLflow's REST API (`mlflow_rest`). The drivers: drive.mjs (views,
status bar, dataset hover), drive_webviews.mjs (preview grid, profile, lineage graph) and
drive_notebook.mjs (the example notebook's run, the notebook toolbar)."""

from __future__ import annotations

import ast
import http.cookiejar
import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO

# screenshots kept after the run (the suite's artifacts)
ARTIFACTS = Path(os.environ.get("EXPENV_TEST_ARTIFACTS", REPO / ".expenv" / "test-artifacts")) / "editor"


@dataclass(frozen=True)
class Devcontainer:
    """The devcontainer's terminal as its dev user (uid 1000) has it, in the workspace folder."""
    container: str
    folder: str = "/workspaces/churn"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        ran = subprocess.run(["docker", "exec", "-u", "1000", "-w", self.folder, self.container, *args],
                             capture_output=True, text=True, timeout=900)
        assert ran.returncode == 0 or not check, (args, ran.stderr[-3000:])
        return ran

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def cli(self, *args: str, codes: tuple[int, ...] = (0,)) -> Any:
        """What `expenv ARGS --json` answers there (on the production Python, as the daemon runs)."""
        ran = self.run("/opt/venv/bin/python", "-m", "expenv", *args, "--json", check=False)
        assert ran.returncode in codes, (args, ran.stderr[-3000:])
        return json.loads(ran.stdout)

    def listening(self, port: int) -> bool:
        """Whether something accepts connections on 127.0.0.1:PORT as seen from inside."""
        probe = f"import socket; print(socket.socket().connect_ex(('127.0.0.1', {port})))"
        return self.out("/opt/venv/bin/python", "-c", probe) == "0"


def mlflow_rest(uri: str, endpoint: str, body: dict | None = None) -> dict:
    """MLflow's REST API: GET ENDPOINT (with its query), or POST a JSON body."""
    if body is None:
        request = urllib.request.Request(f"{uri}/api/2.0/mlflow/{endpoint}")
    else:
        request = urllib.request.Request(f"{uri}/api/2.0/mlflow/{endpoint}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def node_driver(tools: str, script: str, *args: str, timeout: float) -> dict:
    """tests/editor/SCRIPT under node 24 with Playwright: what it printed (its last line, JSON)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [os.path.join(tools, "node24", "node_modules", "node", "bin", "node"), str(REPO / "tests" / "editor" / script),
         *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PLAYWRIGHT_CORE": os.path.join(tools, "playwright", "node_modules", "playwright-core")})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_login_wants_the_password(url: str, password: str) -> None:
    """Anyone who opens the editor gets a terminal (and the Docker socket): code-server sends a
    browser without a session to its login page, refuses a wrong password, takes this start's."""
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert urllib.parse.urlparse(answer.url).path.endswith("/login")
    login = urllib.parse.urljoin(url, "login")

    def session_after(attempt: str) -> bool:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(login, urllib.parse.urlencode({"password": attempt}).encode(), timeout=30).close()
        return any(c.name.startswith("code-server-session") for c in jar)

    assert not session_after("not-the-password")
    assert session_after(password)


def drive(tools: str, url: str, shot: Path, dataset: str) -> dict:
    """drive.mjs: what the editor showed (the explorer, the status notification, the views, the status
    bar, and the hover on `dataset` typed into a new file)."""
    seen = node_driver(tools, "drive.mjs", url, str(shot), dataset, timeout=600)
    assert seen["explorer"] is True
    assert "expenv.status:" in seen["notification"], seen
    assert shot.stat().st_size > 10_000
    return seen


def assert_views_status_bar_and_hover(root: Path, seen: dict, shot: Path, dataset: str, inside: Devcontainer) -> None:
    """The Data view lists every dataset `expenv data ls` lists; the status bar shows the daemon, the
    running clusters and the stage; the hover on the dataset's path shows `expenv data schema` (the
    CLI in the devcontainer's terminal, where the daemon runs). `root`: the workspace on this machine."""
    assert "viewsError" not in seen, seen.get("viewsError")
    datasets = inside.cli("data", "ls")
    expected = {e["ref"]["name"].rsplit("/", 1)[-1] if e["ref"]["layer"] == "raw" else e["ref"]["name"].split(".", 1)[1]
                for e in datasets}
    assert len(expected) >= 5 and expected <= set(seen["dataView"]), seen["dataView"]
    assert {"data/raw", "curated"} <= set(seen["dataView"])
    # the status bar: the daemon's item, the running clusters (none), and the stage the daemon
    # reports (the extension derives none itself)
    assert "expenv" in seen["statusBar"] and "0" in seen["statusBar"], seen["statusBar"]
    stage = inside.cli("status")["workspaces"][0]["stage"]["stage"]
    assert any(stage in item for item in seen["statusBar"]), (stage, seen["statusBar"])
    for part in ("views", "data", "hover"):
        assert shot.with_name(f"{shot.stem}-{part}.png").stat().st_size > 10_000
    scratch = root / seen["hoverFile"]
    try:
        assert "hoverError" not in seen, seen.get("hoverError")
        assert f'"{dataset}"' in scratch.read_text()   # the user's file was saved as typed
    finally:
        scratch.unlink(missing_ok=True)   # a pipeline submission pins the workspace as committed
    schema = inside.cli("data", "schema", dataset)
    ref, hover = schema["ref"], seen["hover"]
    assert ref["layer"] == "raw" and f"{ref['layer']} · {ref['format']}" in hover["text"], hover["text"]
    # every column (the hover lists up to 30; the example's customers have fewer), with its type
    assert [[c["name"], c["type"]] for c in schema["columns"]] == hover["columns"], hover["columns"]


def drive_notebook(tools: str, url: str, notebook: str, action: str, timeout: float, shots: str = "notebook") -> dict:
    """drive_notebook.mjs on `notebook` with `action`: what the editor showed (its steps' durations printed)."""
    seen = node_driver(tools, "drive_notebook.mjs", url, str(ARTIFACTS / shots), notebook, action, timeout=timeout)
    print(f"editor steps of {action} (ms):", seen.get("durations"), "opened at attempt", seen.get("openAttempts"))
    return seen


def _write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook as a user saves it before running it: code cells, no outputs."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def _executed(path: Path) -> list | None:
    """The notebook's code cells once every one has run (saved with its outputs), else None."""
    import nbformat

    try:
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    except Exception:  # noqa: BLE001 - the editor may be writing the file right now
        return None
    return cells if cells and all(c.execution_count for c in cells) else None


def run_the_example_notebook(root: Path, url: str, tools: str, shots: str, inside: Devcontainer) -> None:
    """Open notebooks/explore.ipynb, run all on "expenv: production image" (no kernel pick), save:
    every cell ran without error, and the last cell's MLflow run (read back through MLflow's REST API)
    carries the notebook runner tag. Then a notebook the user wrote shows the daemon's cell diagnostic
    in the Problems panel: a cell using sparkContext while another cell connects to Spark Connect.
    The workspace's MLflow must be up."""
    scratch = root / "notebooks" / "spark_scratch.ipynb"
    _write_notebook(scratch, ['from pyspark.sql import SparkSession\n'
                              'spark = SparkSession.builder.remote("sc://127.0.0.1:15002").getOrCreate()',
                              "rdd = spark.sparkContext.parallelize([1, 2, 3])"])
    try:
        seen = drive_notebook(tools, url, "explore.ipynb", "run-all,problems:spark_scratch.ipynb@spark_connect",
                              1200, shots)
    finally:
        scratch.unlink(missing_ok=True)   # a pipeline submission pins the workspace as committed
    assert "failure" not in seen, seen["failure"]
    assert seen["kernel"] == "expenv: production image", seen
    assert seen["errors"] == 0, seen
    # the second cell's use, at the cell's own line 1 (the notebook's line 3), found only because the
    # first cell connects to Spark Connect: the daemon reads the notebook's other cells
    flagged = [p for p in seen["problems"] if "Spark Connect has no SparkContext" in p]
    assert len(flagged) == 1 and "[Ln 1, Col 13]" in flagged[0], seen["problems"]
    path = root / "notebooks" / "explore.ipynb"
    deadline = time.monotonic() + 60
    while (cells := _executed(path)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cells, f"{path} was not saved with every cell executed"
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    last = cells[-1].outputs[-1]
    assert last.output_type == "execute_result"   # saved as Jupyter writes it
    run_id = ast.literal_eval(last["data"]["text/plain"])
    uri = inside.cli("status")["workspaces"][0]["tracking_uri"]
    run = mlflow_rest(uri, f"runs/get?run_id={run_id}")["run"]
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["expenv.runner"] == "notebook"
    assert {m["key"] for m in run["data"]["metrics"]} >= {"auc"}
