"""`make up`, the main job, end to end: on the example project it builds the images, starts the
embedded MLflow and the devcontainer, and serves the browser editor from inside the devcontainer.
Headless Chromium opens the printed URL: the example workspace shows, the extension is active and
its daemon answers from the production image's Python. `make down` stops all of it."""

from __future__ import annotations

import json
import re
import socket
import stat
import subprocess

import pytest

from tests.conftest import REPO
from tests.editor.checks import ARTIFACTS, assert_views_status_bar_and_hover, drive, run_the_example_notebook

pytestmark = [pytest.mark.editor, pytest.mark.docker, pytest.mark.timeout(2400)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make(target: str, example, port: int) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", target, f"EXAMPLE_DIR={example}", "EXAMPLE_ROWS=5000",
                           f"EDITOR_PORT={port}"], cwd=REPO, capture_output=True, text=True, timeout=2400)


def _containers(example) -> list[str]:
    return subprocess.run(["docker", "ps", "-aq", "--filter", f"label=devcontainer.local_folder={example}"],
                          capture_output=True, text=True).stdout.split()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def made_up(tmp_path_factory):
    example = tmp_path_factory.mktemp("make-up") / "churn"
    port = _free_port()
    up = _make("up", example, port)
    images = []
    try:
        assert up.returncode == 0, (up.stdout[-3000:], up.stderr[-3000:])
        found = re.search(r"expenv: the editor is at (http://\S+)", up.stdout)
        assert found, up.stdout[-3000:]
        printed = re.search(r"expenv: editor password: (\S+)", up.stdout)
        stored = example / ".expenv" / "editor-devcontainer" / "password"
        assert printed and printed.group(1) == stored.read_text().strip(), up.stdout[-3000:]
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        (container,) = _containers(example)
        image = subprocess.run(["docker", "inspect", "-f", "{{.Config.Image}}", container], capture_output=True,
                               text=True).stdout.strip()
        images = [image, image.removesuffix("-uid")]
        with pytest.MonkeyPatch.context() as env:   # drive.mjs logs in with what make up printed
            env.setenv("EXPENV_EDITOR_PASSWORD", printed.group(1))
            yield example, port, found.group(1), container
    finally:
        down = _make("down", example, port)
        assert down.returncode == 0, down.stderr[-3000:]
        assert _containers(example) == []
        assert not _answers(port)
        # the per-folder devcontainer image tags (their layers are shared with the cached images)
        subprocess.run(["docker", "rmi", *images], capture_output=True)


def test_make_up_prints_a_loopback_url_on_the_devcontainer_workspace(made_up):
    example, port, url, _ = made_up
    assert url == f"http://127.0.0.1:{port}/?folder=/workspaces/churn"
    assert (example / ".expenv" / "mlflow" / "server.json").is_file()


def test_the_editor_shows_the_example_and_its_daemon_runs_on_the_production_image(made_up):
    """The workspace, the expenv views (the Data view lists the example's datasets), the status bar
    (stage, clusters) and the hover on a dataset path typed into a new file (issue 14), served by the
    daemon the extension started inside the devcontainer."""
    example, port, url, container = made_up
    shot, dataset = ARTIFACTS / "make-up.png", "data/raw/customers.parquet"
    seen = drive(str(REPO / ".expenv" / "tools"), url, shot, dataset)
    notification = " ".join(seen["notification"].split())
    # the daemon the extension started runs inside the devcontainer on the production Python, and
    # reaches the embedded MLflow on the host's loopback
    assert "on /opt/venv/bin/python in the devcontainer of churn-prod:latest" in notification, seen
    assert "every required part ok" in notification, seen
    inside = subprocess.run(["docker", "exec", container, "/opt/venv/bin/python", "-c", PROCESSES],
                            capture_output=True, text=True)
    processes = json.loads(inside.stdout)
    daemons = [p for p in processes if p["args"][1:4] == ["-m", "expenv", "serve"]]
    assert daemons and all(p["uid"] == 1000 and p["args"][0] == "/opt/venv/bin/python" for p in daemons), processes
    # the example is a git repository of its own, committed and clean, as the dev user sees it in the
    # devcontainer's terminal: a pipeline submitted from this editor pins that commit (no patch to ship)
    def inside(*args: str) -> str:
        ran = subprocess.run(["docker", "exec", "-u", "1000", "-w", "/workspaces/churn", container, *args],
                             capture_output=True, text=True)
        assert ran.returncode == 0, ran.stderr
        return ran.stdout.strip()
    assert inside("git", "symbolic-ref", "--short", "HEAD") == "feature/example"
    assert inside("git", "status", "--porcelain", "--untracked-files=no") == ""
    status = json.loads(inside("/opt/venv/bin/python", "-m", "expenv", "status", "--json"))
    assert status["workspaces"][0]["stage"]["stage"] == "dev", status["workspaces"][0]
    assert_views_status_bar_and_hover(example, seen, shot, dataset, status)   # the status bar shows "dev"


def test_the_example_notebook_runs_in_the_devcontainer_and_shows_its_cell_problems(made_up):
    """In the `make up` editor, where no Jupyter extension can be installed: the example notebook runs on
    the "expenv: production image" controller (a kernel of the devcontainer's production Python, the
    daemon there), its MLflow run lands in the workspace's tracking server with the notebook runner
    tag, and a notebook's cell diagnostics show in the Problems panel."""
    example, _, url, _ = made_up
    run_the_example_notebook(example, url, str(REPO / ".expenv" / "tools"), "make-up-notebook")


# the container's processes (its image has no ps): uid and argv of each
PROCESSES = """
import json, os
out = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")[:-1]
        out.append({"uid": os.stat(f"/proc/{pid}").st_uid, "args": [a.decode() for a in args]})
    except OSError:
        pass
print(json.dumps(out))
"""
