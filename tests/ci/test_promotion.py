"""feature/* → release/* → main with the CI plans run here (`expenv ci run`), on git repositories
made in the test: a bare "origin" with main, release/1.0 and feature/x. The example's pre-prod
target is switched to the local Docker engine by configuration (its [targets.preprod] section,
committed on main: backend docker, production-like, tracked by the workspace's MLflow). One docker
pipeline run for the module; everything is read back through `--json`, MLflow REST and Docker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.clusters.daemon_client import Daemon
from tests.docker.conftest import PROD_TAG, base_image, docker_client, example_project, production_image  # noqa: F401
from tests.pipelines.conftest import expenv, git, mlflow_get, mlflow_post, mlflow_run

pytestmark = [pytest.mark.docker, pytest.mark.timeout(3600)]

PREPROD_ON_DOCKER = """[targets.preprod]
# Pre-prod on this machine's Docker engine (the CI runner), tracked by the workspace's MLflow server.
backend = "docker"
production_like = true
include = ["features/data"]
"""


def _ci(root: Path, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    result = expenv(root, "ci", "run", *args, "--json", timeout=3000, env={"GITHUB_TOKEN": "", **(env or {})})
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    print("ci run", *args, "step seconds:", {r["name"]: r["seconds"] for r in report.get("results", [])})
    return result, report


def _rewrite_to_the_feature_store(root: Path) -> None:
    """What the developer does on feature/x: the editor's code action turns train.py's curated read
    into a feature-store retrieval (the release policy refuses direct reads)."""
    from expenv.domain.features import apply_edits
    from expenv.services.code.reads import find_reads
    from expenv.services.workspace import WorkspaceSet

    services = WorkspaceSet().add(root).services
    path = root / "pipelines" / "train.py"
    source = path.read_text()
    [read] = [r for r in find_reads(source, services.data) if r.layer.value == "curated"]
    action = services.features.rewrite(source, read, path)
    path.write_text(apply_edits(source, action.edits))


@pytest.fixture(scope="module")
def repos(tmp_path_factory, production_image):  # noqa: F811
    from expenv.services.example import create_example

    base = tmp_path_factory.mktemp("ci-promotion")
    origin, work = base / "origin.git", base / "churn"
    create_example(work, rows=3000)
    config = work / "expenv.toml"
    text = re.sub(r'production_image = "[^"]*"', f'production_image = "{PROD_TAG}"', config.read_text())
    text, switched = re.subn(r"\[targets\.preprod\]\n(?:(?!\n\[).)*\n", PREPROD_ON_DOCKER, text, flags=re.S)
    assert switched == 1, "the example has no [targets.preprod] section to switch"
    config.write_text(text)
    # the developer's `make image`: the production image (built by the session, same recipe) writes its lock
    built = expenv(work, "images", "build", "--no-dev", "--json", timeout=1800)
    assert built.returncode == 0, built.stderr[-3000:]
    production = json.loads(built.stdout)["production"]
    assert production["cached"] and production["lock_changed"], production
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "The churn project; pre-prod on the local Docker engine")
    git(work, "push", "-q", "origin", "main", "main:release/1.0")
    applied = expenv(work, "features", "apply", "--yes", timeout=900)
    assert applied.returncode == 0, applied.stderr[-3000:]
    up = expenv(work, "up", "--json", timeout=300)
    assert up.returncode == 0, up.stderr[-3000:]
    uri = json.loads(up.stdout)["tracking_uri"]

    git(work, "checkout", "-q", "-b", "feature/x")
    _rewrite_to_the_feature_store(work)
    git(work, "commit", "-q", "-am", "Train from the feature service")
    git(work, "push", "-q", "origin", "feature/x")
    yield {"origin": origin, "work": work, "uri": uri}
    expenv(work, "down", timeout=120)


@pytest.fixture(scope="module")
def pull_request(repos):
    """The pull request feature/x → release/1.0 as GitHub checks it out (the merge of the two,
    detached from the branches), with its CI plan run here."""
    work = repos["work"]
    git(work, "fetch", "-q", "origin")
    git(work, "checkout", "-q", "-B", "release/1.0", "origin/release/1.0")
    git(work, "merge", "-q", "--no-ff", "origin/feature/x", "-m", "Merge pull request #1 from feature/x")
    result, report = _ci(work, "--event", "pull_request", "--from", "feature/x", "--to", "release/1.0")
    return {**repos, "result": result, "report": report, "merge": git(work, "rev-parse", "HEAD")}


def _run_by_release(uri: str, release: str) -> dict:
    experiment = mlflow_get(uri, "experiments/get-by-name", experiment_name="churn")["experiment"]
    runs = mlflow_post(uri, "runs/search", {"experiment_ids": [experiment["experiment_id"]],
                                            "filter": f"tags.`expenv.ci.release` = '{release}'"}).get("runs", [])
    assert len(runs) == 1, runs
    return mlflow_run(uri, runs[0]["info"]["run_id"]) | {"id": runs[0]["info"]["run_id"]}


def test_the_pull_request_plan_runs_the_pipeline_on_preprod_and_comments_its_run(pull_request):
    result, report = pull_request["result"], pull_request["report"]
    assert result.returncode == 0, result.stderr[-5000:]
    planned = [s["name"] for s in report["steps"]]
    assert report["ok"] and [(r["name"], r["exit_code"]) for r in report["results"]] == [(n, 0) for n in planned]
    assert [n for n in planned if n != "unit-tests"] == [   # unit tests: when the repository has tests/
        "lint", "check", "build-image", "image-tests", "preprod-run", "pr-comment"]
    results = {r["name"]: r for r in report["results"]}
    assert "modules compile in the image" in "\n".join(results["image-tests"]["tail"])

    uri = pull_request["uri"]
    run = _run_by_release(uri, "release/1.0")
    assert run["status"] == "FINISHED"
    tags = run["tags"]
    assert tags["expenv.target"] == "preprod" and tags["expenv.runner"] == "docker"
    assert tags["mlflow.source.git.commit"] == pull_request["merge"] and tags["expenv.ci.from"] == "feature/x"
    assert tags["expenv.pipeline"] == "train" and tags["expenv.image"] == PROD_TAG
    assert "expenv.parity.drift" not in tags   # --parity lock: the committed lock is the image's

    comment = (pull_request["work"] / ".expenv" / "ci" / "pr-comment.md").read_text()
    assert comment.startswith("### expenv pre-prod run: `train` on `preprod` (docker)")
    assert f"feature/x → release/1.0 · commit `{pull_request['merge'][:12]}` · **FINISHED**" in comment
    assert re.search(rf"MLflow run: \[{run['id']}\]\({re.escape(uri)}/#/experiments/\d+/runs/{run['id']}\)", comment)
    assert f"| train.auc | {run['metrics']['train.auc']:.4g} |" in comment
    assert comment in "\n".join(results["pr-comment"]["tail"]) + "\n"   # printed too (no GITHUB_TOKEN)


def test_a_lock_that_differs_from_the_image_fails_the_check_and_the_preprod_submission(pull_request):
    """The committed lock is what CI compares with the image: one version changed in it (as a hand edit,
    or an image built from other versions would show) fails `expenv check` and refuses the pre-prod
    submission of the plan before any run."""
    work = pull_request["work"]
    lock = work / "pipelines" / "requirements.lock"
    text = lock.read_text()
    assert "# requirements.txt sha256: " in text and len(re.findall(r"(?m)^[\w.-]+==\S+$", text)) > 20
    pandas = re.search(r"(?m)^pandas==(\S+)$", text).group(1)
    ok = expenv(work, "check", "--branch", "release/1.0", "--json", timeout=300)
    assert ok.returncode == 0 and json.loads(ok.stdout)["lock"]["state"] == "ok", ok.stdout + ok.stderr
    lock.write_text(text.replace(f"pandas=={pandas}\n", "pandas==0.0.1\n"))
    git(work, "commit", "-q", "-am", "A hand-edited lock")
    try:
        check = expenv(work, "check", "--branch", "release/1.0", "--json", timeout=300)
        assert check.returncode == 1
        report = json.loads(check.stdout)["lock"]
        assert report["state"] == "drift" and report["differences"] == [
            {"name": "pandas", "lock": "0.0.1", "image": pandas}], report
        runs = len(json.loads(expenv(work, "pipeline", "ls", "--json").stdout)["runs"])
        refused = expenv(work, "pipeline", "submit", "train", "--target", "preprod", "--parity", "lock", timeout=300)
        assert refused.returncode == 1
        assert "pandas 0.0.1 (image " in refused.stderr and "the lock committed at HEAD" in refused.stderr
        assert len(json.loads(expenv(work, "pipeline", "ls", "--json").stdout)["runs"]) == runs
    finally:
        git(work, "reset", "-q", "--hard", "HEAD^")
    assert lock.read_text() == text


def test_a_pull_request_that_reads_curated_data_directly_is_stopped_by_the_plan(pull_request):
    """The sourcing policy through the CI door (`expenv ci run`, as the workflow runs it): a pull
    request into release/* whose train.py reads the curated warehouse directly (main's, before the
    feature-store rewrite) fails the plan at its policy check, naming the read; nothing after it
    runs and nothing is submitted to pre-prod."""
    work = pull_request["work"]
    git(work, "checkout", "-q", "origin/main", "--", "pipelines/train.py")
    git(work, "commit", "-q", "-m", "Train from the curated table again")
    try:
        runs = len(json.loads(expenv(work, "pipeline", "ls", "--json").stdout)["runs"])
        result, report = _ci(work, "--event", "pull_request", "--from", "feature/raw", "--to", "release/1.0")
        assert result.returncode == 1 and report["ok"] is False, result.stderr[-3000:]
        codes = {r["name"]: r["exit_code"] for r in report["results"]}
        assert codes["lint"] == 0 and codes["check"] == 1, codes
        assert codes["build-image"] is codes["preprod-run"] is codes["pr-comment"] is None, codes   # not run
        said = "\n".join(next(r for r in report["results"] if r["name"] == "check")["tail"])
        assert "pipelines/train.py" in said and "curated" in said, said
        assert len(json.loads(expenv(work, "pipeline", "ls", "--json").stdout)["runs"]) == runs
    finally:
        git(work, "reset", "-q", "--hard", "HEAD^")


def test_the_main_plan_registers_the_preprod_model_under_the_alias(pull_request, docker_client):  # noqa: F811
    assert pull_request["report"].get("ok"), "the pull request plan failed: nothing to promote"
    work, uri = pull_request["work"], pull_request["uri"]
    preprod = _run_by_release(uri, "release/1.0")
    git(work, "push", "-q", "origin", "HEAD:release/1.0")          # the pull request is merged
    git(work, "checkout", "-q", "-B", "main", "origin/main")
    git(work, "merge", "-q", "--no-ff", "origin/release/1.0", "-m", "Release 1.0")
    git(work, "push", "-q", "origin", "main")
    head = git(work, "rev-parse", "HEAD")
    experiment_id = preprod["experiment_id"]
    runs_before = len(mlflow_post(uri, "runs/search", {"experiment_ids": [experiment_id]})["runs"])

    result, report = _ci(work, "--event", "push", "--to", "main")
    repository = PROD_TAG.split(":")[0]
    # the image the pre-prod run ran (by id): what promote tags, even if PROD_TAG was rebuilt since
    run_image = preprod["tags"]["expenv.image_digest"]
    try:
        assert result.returncode == 0, result.stderr[-5000:]
        assert [(r["name"], r["exit_code"]) for r in report["results"]] == [("check", 0), ("promote", 0)]
        alias = mlflow_get(uri, "registered-models/alias", name="churn", alias="champion")["model_version"]
        children = mlflow_post(uri, "runs/search", {"experiment_ids": [experiment_id], "filter":
                                                    f"tags.mlflow.parentRunId = '{preprod['id']}'"})["runs"]
        train = next(c["info"]["run_id"] for c in children
                     if {t["key"]: t["value"] for t in c["data"]["tags"]}["expenv.step"] == "train")
        assert alias["run_id"] == train
        version = {t["key"]: t["value"] for t in alias.get("tags", [])}
        assert version["expenv.commit"] == head and version["expenv.release"] == "release/1.0"
        assert version["expenv.preprod_run"] == preprod["id"]
        assert version["expenv.run_commit"] == pull_request["merge"]
        # no retraining: the experiment has exactly the runs it had
        assert len(mlflow_post(uri, "runs/search", {"experiment_ids": [experiment_id]})["runs"]) == runs_before
        last = _assert_status_shows_the_promotion(work, head, alias["version"])
        daemon = Daemon(work)            # the editor's view: the LSP command of the real `expenv serve`
        try:
            assert daemon.command("expenv.status", {})["result"]["workspaces"][0]["last_promotion"] == last
        finally:
            assert daemon.finish() == 0
        image = docker_client.images.get(run_image)
        assert {f"{repository}:{head[:12]}", f"{repository}:1.0"} <= set(image.tags)
        assert version["expenv.images"] == f"{repository}:{head[:12]},{repository}:1.0"
    finally:
        for tag in (f"{repository}:{head[:12]}", f"{repository}:1.0"):
            if tag in docker_client.images.get(run_image).tags:
                docker_client.images.remove(tag)     # untag only: the test image keeps its own tag

    # GitHub's "squash and merge": a new commit, not a merge, whose tree is the release's -> found by tree
    git(work, "checkout", "-q", "-B", "squashed", "HEAD^1")
    git(work, "merge", "-q", "--squash", "origin/release/1.0")
    git(work, "commit", "-q", "-m", "Release 1.0 (squashed)")
    squashed = git(work, "rev-parse", "HEAD")
    promoted = expenv(work, "ci", "promote", "--json", timeout=300)
    try:
        assert promoted.returncode == 0, promoted.stderr[-3000:]
        again = json.loads(promoted.stdout)
        assert again["preprod_run"] == preprod["id"] and again["run_commit"] == pull_request["merge"]
        assert again["commit"] == squashed and int(again["version"]) == int(alias["version"]) + 1
        _assert_status_shows_the_promotion(work, squashed, again["version"])
    finally:
        for tag in (f"{repository}:{squashed[:12]}", f"{repository}:1.0"):
            if tag in docker_client.images.get(run_image).tags:
                docker_client.images.remove(tag)
    alias = mlflow_get(uri, "registered-models/alias", name="churn", alias="champion")["model_version"]
    assert alias["version"] == again["version"]

    # a commit on main without a pre-prod run is not promoted
    (work / "NOTES.md").write_text("hotfix\n")
    git(work, "add", "NOTES.md")
    git(work, "commit", "-q", "-m", "A change nobody deployed to pre-prod")
    refused = expenv(work, "ci", "promote", timeout=300)
    assert refused.returncode == 1
    assert "no finished train run on preprod at" in refused.stderr
    quoted = urllib.parse.quote("champion")
    assert mlflow_get(uri, "registered-models/alias", name="churn", alias=quoted)["model_version"]["version"] \
        == alias["version"]
    assert _status(work)["last_promotion"]["commit"] == squashed        # the refused one left no tag

    # the tracking server stopped: status still answers, with the promotion its git tag recorded
    assert expenv(work, "down", timeout=120).returncode == 0
    last = _status(work)["last_promotion"]
    assert last["tag"] == f"promotion/churn-v{again['version']}" and last["commit"] == squashed
    assert last["model"] == {"name": "churn", "version": again["version"], "alias": "champion", "source": "git tag"}


def test_status_fetches_origins_promotion_tags_once_in_a_while(pull_request, tmp_path):
    """A colleague's clone made before CI promoted: `expenv status` fetches origin's promotion tags
    itself (no `git fetch --tags`), then not again for a while (the status bar asks often)."""
    promoted = git(pull_request["origin"], "for-each-ref", "--sort=-version:refname", "--sort=-creatordate",
                   "--count=1", "--format=%(refname:strip=2)", "refs/tags/promotion/")
    assert promoted.startswith("promotion/churn-v"), "the main plan made no promotion tag"
    clone = tmp_path / "colleague"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(pull_request["origin"]), str(clone)], check=True)
    assert git(clone, "tag", "-l") == ""
    assert _status(clone)["last_promotion"]["tag"] == promoted
    fetched = git(clone, "tag", "-l").split()
    assert promoted in fetched and all(t.startswith("promotion/") for t in fetched)   # those tags only
    git(clone, "tag", "-d", *fetched)
    assert _status(clone)["last_promotion"] is None          # fetched a moment ago: not fetched again
    stamp = clone / ".git" / "expenv-promotion-tags-fetched"
    os.utime(stamp, (stamp.stat().st_atime - 3600, stamp.stat().st_mtime - 3600))
    assert _status(clone)["last_promotion"]["tag"] == promoted


def _status(work: Path) -> dict:
    result = expenv(work, "status", "--json", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)["workspaces"][0]


def _assert_status_shows_the_promotion(work: Path, commit: str, version: str) -> dict:
    """`expenv status --json` reads the promotion back from the git tag (pushed to origin) and the
    registry's alias; the text form says it too. Returns the JSON's last_promotion."""
    last = _status(work)["last_promotion"]
    tag = f"promotion/churn-v{version}"
    assert last["tag"] == tag and last["commit"] == commit and last["release"] == "release/1.0", last
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", last["date"]), last
    model = last["model"]
    assert {k: model[k] for k in ("name", "version", "alias", "commit", "release", "source")} == {
        "name": "churn", "version": version, "alias": "champion", "commit": commit, "release": "release/1.0",
        "source": "registry"}
    assert f"{commit}\trefs/tags/{tag}^{{}}" in git(work, "ls-remote", "origin", "refs/tags/promotion/*")
    text = expenv(work, "status", timeout=120).stdout
    assert f"last promotion: {tag} at {commit[:12]}" in text and f"model churn version {version} @champion" in text
    return last
