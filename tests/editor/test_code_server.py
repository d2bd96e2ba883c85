"""The real editor: code-server with the packaged extension, driven by Playwright in chromium.
The extension activates on the example workspace and its daemon answers from the palette."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.editor.checks import ARTIFACTS, cli_json as _cli_json, drive_notebook as _drive_notebook
from tests.docker.conftest import PROD_TAG, base_image, docker_client, example_project, production_image  # noqa: F401

pytestmark = pytest.mark.editor
SCRIPTS = REPO / "devcontainer" / "scripts"


@pytest.fixture(scope="module")
def tools() -> str:
    result = subprocess.run(["bash", str(SCRIPTS / "ensure-editor.sh")], capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr  # fails, not skips, when the editor cannot be installed
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def editor(tools, tmp_path_factory):
    from expenv.services.example import create_example

    root = tmp_path_factory.mktemp("editor") / "churn"
    create_example(root, rows=5000)
    # the session's production image (built only by the tests that run containers), not the user's tag
    config = root / "expenv.toml"
    config.write_text(re.sub(r'production_image = "[^"]*"', f'production_image = "{PROD_TAG}"', config.read_text()))
    started = subprocess.run(["bash", str(SCRIPTS / "editor.sh"), "start", str(root)], capture_output=True,
                             text=True, timeout=600)
    assert started.returncode == 0, started.stderr
    with pytest.MonkeyPatch.context() as env:   # the drivers log in with it, as a user would
        env.setenv("EXPENV_EDITOR_PASSWORD", (root / ".expenv" / "editor" / "password").read_text().strip())
        yield root, started.stdout.strip().splitlines()[-1]
    subprocess.run(["bash", str(SCRIPTS / "editor.sh"), "stop", str(root)], timeout=60)


@pytest.fixture(scope="module")
def feature_registry(editor):
    """`expenv features apply --yes` in the editor's workspace, as a user applies it: the registry the
    lineage graph and the notebook toolbar read. Once for the module (an apply takes minutes on a
    loaded machine, and a second one of the same repo changes nothing)."""
    root, _ = editor
    applied = subprocess.run([sys.executable, "-m", "expenv", "features", "apply", "--yes"], cwd=root,
                             capture_output=True, text=True, timeout=900)
    assert applied.returncode == 0, applied.stderr[-3000:]
    return root


def _grid_check_csv(path) -> None:
    """A dataset a user drops into the raw root: 150 rows (two grid pages), some values missing."""
    lines = ["id,plan,score"]
    for i in range(150):
        plan = "" if i % 7 == 3 else ("pro", "basic", "team")[i % 3]
        score = "" if i % 11 == 5 else f"{(i * 37) % 101 / 4}"
        lines.append(f"{i},{plan},{score}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.timeout(1200)   # `feast apply` alone takes minutes on a loaded machine
def test_preview_grid_and_lineage_graph_webviews(tools, editor, feature_registry):
    """From the Data view, a dataset's preview grid shows the daemon's column types and marks its
    nulls; a column sorts the whole dataset (through the daemon); Next reads the next page, still sorted;
    Profile shows each column's
    null rate and a histogram. The lineage graph (palette)
    shows the daemon's nodes, and a click on a feature view opens its definition at its line."""
    root, url = editor
    dataset, feature_view = "data/raw/grid_check.csv", "feature_view:customer_profile"
    _grid_check_csv(root / dataset)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    node24 = os.path.join(tools, "node24", "node_modules", "node", "bin", "node")
    result = subprocess.run(
        [node24, str(REPO / "tests" / "editor" / "drive_webviews.mjs"), url, str(ARTIFACTS / "webviews"), dataset,
         "score", feature_view], capture_output=True, text=True, timeout=900,
        env={**os.environ, "PLAYWRIGHT_CORE": os.path.join(tools, "playwright", "node_modules", "playwright-core")})
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    print("webview e2e step durations (ms):", seen["timings"])
    assert "failure" not in seen, seen

    schema = _cli_json(root, "data", "schema", dataset)
    first = _cli_json(root, "data", "preview", dataset, "--limit", "100")
    second = _cli_json(root, "data", "preview", dataset, "--limit", "100", "--offset", "100")
    grid = seen["grid"]
    assert [(h["name"], h["type"]) for h in grid["headers"]] == [(c["name"], c["type"]) for c in schema["columns"]]
    assert grid["nullLabel"] == "NULL" and grid["nullCells"] > 0
    assert [[v is None for v in row] for row in grid["rows"]] == [[v is None for v in row] for row in first["rows"]]
    assert [row[0] for row in grid["rows"]] == [str(row[0]) for row in first["rows"]]

    # a header click sorts the whole dataset (the daemon's ORDER BY, nulls last), and Next keeps the sort:
    # the two pages are the CLI's `--sort score` pages
    score = schema["columns"].index(next(c for c in schema["columns"] if c["name"] == "score"))
    by_score = [_cli_json(root, "data", "preview", dataset, "--limit", "100", "--offset", offset, "--sort", "score")
                for offset in ("0", "100")]
    assert [h["sort"] for h in seen["sorted"]["headers"]][score] == "ascending"

    def scores(rows):
        return [None if v is None else float(v) for v in (row[score] for row in rows)]
    assert scores(seen["sorted"]["rows"]) == scores(by_score[0]["rows"])
    assert scores(seen["nextPage"]["rows"]) == scores(by_score[1]["rows"])
    whole = scores(seen["sorted"]["rows"]) + scores(seen["nextPage"]["rows"])
    values = [v for v in whole if v is not None]
    assert values == sorted(values) and whole[len(values):] == [None] * (len(whole) - len(values))   # nulls last
    assert sorted(values) == sorted(float(row[score]) for row in first["rows"] + second["rows"] if row[score] is not None)
    assert seen["nextPage"]["range"].startswith("Rows 101–150 of 150"), seen["nextPage"]["range"]

    # the profile: each column's null rate as the daemon counts it, a histogram for the numeric score
    profile = _cli_json(root, "data", "profile", dataset)
    rows = profile["sample_rows"] or profile["row_count"]
    shown_rates = {c["column"]: c["nullRate"] for c in seen["profile"]}
    expected_rates = {c["name"]: c["nulls"] / rows for c in profile["columns"]}
    assert shown_rates.keys() == expected_rates.keys()
    assert all(abs(shown_rates[name] - rate) <= 1e-4 for name, rate in expected_rates.items()), shown_rates
    assert shown_rates["plan"] > 0 and next(c for c in seen["profile"] if c["column"] == "score")["bars"] > 1

    lineage = _cli_json(root, "features", "lineage")
    assert set(seen["lineageNodes"]) == {n["id"] for n in lineage["nodes"]} and seen["lineageEdges"] > 0
    definition = next(n for n in lineage["nodes"] if n["id"] == feature_view)["attrs"]["definition"]
    path, line = definition.rsplit(":", 1)
    assert seen["definitionTab"].startswith(Path(path).name), seen
    assert seen["cursor"].startswith(f"Ln {line},"), seen


def _mlflow(uri: str, endpoint: str, body: dict | None = None) -> dict:
    """MLflow's REST API: GET with query parameters, or POST a JSON body."""
    import urllib.parse

    if body is None:
        request = urllib.request.Request(f"{uri}/api/2.0/mlflow/{endpoint}")
    else:
        request = urllib.request.Request(f"{uri}/api/2.0/mlflow/{endpoint}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def toolbar_session(tools, editor, feature_registry, production_image):
    """One editor session of the notebook toolbar, as a user goes: commit the example (its feature
    repo applied: feature_registry), start MLflow (`expenv up`), open notebooks/prepare.ipynb, "Run notebook as
    pipeline…" on `dev` (docker: the production image), then "Attach cluster…" dask-local and stop
    it from the Clusters view, then "Check parity". What the editor showed, for the tests below to check."""
    root, url = editor
    for git in (["init", "-q", "-b", "feature/editor"], ["add", "-A"], ["commit", "-q", "-m", "the churn example"]):
        subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *git], cwd=root, check=True,
                       capture_output=True, timeout=120)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    uri = _cli_json(root, "up")["tracking_uri"]
    try:
        seen = _drive_notebook(tools, url, "prepare.ipynb", "pipeline:dev,attach:dask-local,parity:", timeout=2100)
        yield {"seen": seen, "uri": uri, "sha": sha, "root": root}
    finally:   # whatever the editor launched and did not stop (the editor's workspace is this module's own)
        subprocess.run([sys.executable, "-m", "expenv", "cluster", "down", "--all"], cwd=root, timeout=120,
                       capture_output=True)
        _cli_json(root, "down")


@pytest.mark.docker
@pytest.mark.timeout(2400)
def test_check_parity_from_the_notebook_toolbar_shows_the_reports_summary(toolbar_session):
    """The toolbar's "Check parity" answers in a notification with the report's one line, the same
    as `expenv parity --json` says for the same kernel interpreter and image."""
    seen, root = toolbar_session["seen"], toolbar_session["root"]
    assert "parity" in seen, seen
    ran = subprocess.run([sys.executable, "-m", "expenv", "parity", "--json"], cwd=root, capture_output=True,
                         text=True, timeout=600)
    assert ran.returncode in (0, 1), ran.stderr   # 1: they differ
    summary = json.loads(ran.stdout)["summary"]
    assert summary.startswith(("the kernel matches", "the kernel differs from"))
    assert seen["parity"] == (summary if len(summary) <= 200 else summary[:199] + "…"), (seen["parity"], summary)


@pytest.mark.docker
@pytest.mark.timeout(2400)
def test_the_prepare_notebook_runs_as_a_pipeline_on_dev_from_the_notebook_toolbar(toolbar_session, production_image):
    """Issue 12's acceptance in the real editor: "Run notebook as pipeline…" and `dev` on the example's
    notebook runs the pipeline it is a step of (prepare → train) in the production image; the run's
    end is notified, the Pipelines & Runs view shows it FINISHED, and MLflow has it FINISHED with the
    executed notebook as the prepare step's artifact and the trained model as the train step's."""
    seen, uri, sha, root = (toolbar_session[k] for k in ("seen", "uri", "sha", "root"))
    assert "runRow" in seen, seen
    assert {"dev", "preprod"} <= {t.split()[0] for t in seen["targets"] if t}, seen["targets"]
    assert seen["status"] == "FINISHED", seen
    assert seen["mlflowButton"] is True, seen
    assert "FINISHED" in seen["runRow"] and "on dev" in seen["runRow"], seen["runRow"]

    # the run the editor showed, as the CLI and MLflow's REST API read it
    run = _cli_json(root, "pipeline", "status", seen["run"])
    assert run["status"] == "FINISHED" and run["target"] == "dev" and run["commit"] == sha, run
    assert run["pipeline"] == "train" and [s["name"] for s in run["steps"]] == ["prepare", "train"], run
    assert run["image"] == PROD_TAG and run["image_digest"] == production_image.id, run
    parent = _mlflow(uri, f"runs/get?run_id={run['mlflow_run_id']}")["run"]
    assert parent["info"]["status"] == "FINISHED"
    tags = {t["key"]: t["value"] for t in parent["data"]["tags"]}
    assert tags["expenv.target"] == "dev" and tags["mlflow.source.git.commit"] == sha, tags
    children = _mlflow(uri, "runs/search", {
        "experiment_ids": [parent["info"]["experiment_id"]],
        "filter": f"tags.mlflow.parentRunId = '{run['mlflow_run_id']}'"})["runs"]
    by_step = {next(t["value"] for t in c["data"]["tags"] if t["key"] == "expenv.step"): c for c in children}
    assert set(by_step) == {"prepare", "train"} and all(c["info"]["status"] == "FINISHED" for c in children)
    assert {m["key"] for m in by_step["prepare"]["data"].get("metrics", [])} >= {"data_rows"}
    artifacts = _mlflow(uri, f"artifacts/list?run_id={by_step['prepare']['info']['run_id']}")
    assert "prepare.ipynb" in [f["path"] for f in artifacts.get("files", [])], artifacts
    assert {m["key"] for m in by_step["train"]["data"].get("metrics", [])} >= {"auc"}
    models = _mlflow(uri, "logged-models/search", {"experiment_ids": [parent["info"]["experiment_id"]]})["models"]
    assert [m["info"]["name"] for m in models
            if m["info"].get("source_run_id") == by_step["train"]["info"]["run_id"]] == ["model"]   # trained


@pytest.mark.docker
@pytest.mark.timeout(2400)
def test_a_cluster_attached_from_the_notebook_toolbar_runs_in_the_view_and_stops_from_it(toolbar_session):
    """Issue 11 in the real editor, in the same session: "Attach cluster…" and the dask-local
    profile: the daemon launches it and the connection cell goes in at the top; the Clusters view
    shows it running; its row's Stop ends it, and nothing of it is left listening."""
    import socket

    seen, root = toolbar_session["seen"], toolbar_session["root"]
    assert "failure" not in seen, seen
    address = re.search(r'Client\("tcp://127\.0\.0\.1:(\d+)"\)', seen["cell"])
    assert address, seen["cell"]
    assert "running" in seen["runningRow"] and "2/2 workers" in seen["runningRow"], seen["runningRow"]
    assert seen["goneFromView"] is True
    listing = _cli_json(root, "cluster", "ls")
    assert seen["cluster"] not in [c["id"] for c in listing["clusters"] if c["status"] != "stopped"], listing
    with socket.socket() as probe:   # the scheduler's port is closed: nothing is left running
        assert probe.connect_ex(("127.0.0.1", int(address[1]))) != 0


def test_the_editor_asks_for_the_password_of_this_start(editor):
    """Anyone who opens the editor gets a terminal (and the Docker socket): code-server wants the
    password that editor.sh generated at this start, kept readable by its owner only."""
    import http.cookiejar
    import stat
    import urllib.parse

    root, url = editor
    password = root / ".expenv" / "editor" / "password"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert len(password.read_text().strip()) >= 20
    with urllib.request.urlopen(url, timeout=30) as answer:   # no session: sent to the login page
        assert urllib.parse.urlparse(answer.url).path.endswith("/login")
    login = urllib.parse.urljoin(url, "login")

    def session_after(attempt: str) -> bool:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(login, urllib.parse.urlencode({"password": attempt}).encode(), timeout=30).close()
        return any(c.name.startswith("code-server-session") for c in jar)

    assert not session_after("not-the-password")
    assert session_after(password.read_text().strip())

