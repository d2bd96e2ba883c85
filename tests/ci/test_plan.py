"""`expenv ci plan` and `expenv ci run` as a terminal runs them (the CLI, `--json`), and the
template's GitHub workflows checked against the plans they call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "templates" / "project" / ".github" / "workflows"
CONFIG = """\
[project]
name = "demo"

[targets.preprod]
backend = "docker"

[pipelines.train.steps.fit]
python = "pipelines/fit.py"

[policy]
feature_store_required = ["release/*", "main"]
"""


def expenv(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "expenv", *args, "-w", str(root)], capture_output=True, text=True,
                          timeout=timeout)


def plan(root: Path, *args: str) -> dict:
    result = expenv(root, "ci", "plan", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    (root / "pipelines").mkdir(parents=True)
    (root / "expenv.toml").write_text(CONFIG)
    (root / "pipelines" / "fit.py").write_text("print('fit')\n")
    return root


def test_a_pull_request_from_feature_into_release_deploys_to_preprod(project):
    got = plan(project, "--event", "pull_request", "--from", "feature/x", "--to", "release/1.0")
    assert got["kind"] == "preprod"
    assert [(s["name"], s["command"]) for s in got["steps"]] == [
        ("lint", "python -m compileall -q pipelines"),
        ("check", "expenv check --branch release/1.0"),
        ("build-image", "expenv images build --no-dev"),
        ("image-tests", "expenv ci image-test"),
        ("preprod-run", "expenv pipeline submit train --target preprod --wait --parity lock"),
        ("pr-comment", "expenv ci comment --pipeline train --target preprod --from feature/x --to release/1.0")]
    text = expenv(project, "ci", "plan", "--event", "pull_request", "--from", "feature/x", "--to", "release/1.0")
    assert text.returncode == 0
    assert "5. preprod-run: expenv pipeline submit train --target preprod --wait --parity lock" in text.stdout


def test_other_pull_requests_only_check(project):
    got = plan(project, "--event", "pull_request", "--from", "fix/typo", "--to", "main")
    assert got["kind"] == "checks" and [s["name"] for s in got["steps"]] == ["lint", "check"]
    assert got["steps"][1]["command"] == "expenv check --branch main"
    assert "feature/* into release/*" in got["notes"][0]
    assert plan(project, "--event", "pull_request", "--from", "feature/x", "--to", "refs/heads/release/2")["kind"] \
        == "preprod"


def test_a_push_to_main_promotes_and_other_pushes_run_nothing(project):
    got = plan(project, "--event", "push", "--to", "main", "--alias", "production")
    assert got["kind"] == "promote"
    assert [s["command"] for s in got["steps"]] == [
        "expenv check --branch main", "expenv ci promote --target preprod --alias production --model demo"]
    other = plan(project, "--event", "push", "--to", "release/1.0")
    assert other["kind"] == "none" and other["steps"] == []


def test_the_schedule_updates_from_the_template(project):
    assert [s["command"] for s in plan(project, "--event", "schedule")["steps"]] == ["expenv ci template-update"]


def test_the_makefile_and_ruff_choose_lint_and_tests(project):
    (project / "pyproject.toml").write_text('[project.optional-dependencies]\ndev = ["ruff>=0.5", "pytest"]\n')
    (project / "tests").mkdir()
    (project / "tests" / "test_fit.py").write_text("def test_one():\n    assert 1\n")
    steps = plan(project, "--event", "pull_request", "--from", "a", "--to", "main")["steps"]
    assert [s["command"] for s in steps][:2] == ["ruff check .", "python -m pytest -q tests"]
    (project / "Makefile").write_text("lint:\n\truff check .\ntest:\n\tpytest\nX := 1\n")
    steps = plan(project, "--event", "pull_request", "--from", "a", "--to", "main")["steps"]
    assert [s["command"] for s in steps][:2] == ["make lint", "make test"]


@pytest.mark.parametrize("args, field", [(["--event", "merge"], "event"),
                                         (["--event", "pull_request", "--from", "feature/x"], "to")])
def test_bad_input_names_the_field(project, args, field):
    result = expenv(project, "ci", "plan", *args)
    assert result.returncode == 1
    assert f"expenv ci plan: {field}:" in result.stderr


def test_run_stops_at_the_first_failing_step(project):
    (project / "pipelines" / "broken.py").write_text("def oops(:\n")
    result = expenv(project, "ci", "run", "--event", "pull_request", "--from", "a", "--to", "main", "--json")
    assert result.returncode == 1, result.stderr
    got = json.loads(result.stdout)
    assert got["ok"] is False
    assert [(r["name"], r["exit_code"]) for r in got["results"]] == [("lint", 1), ("check", None)]
    assert any("broken.py" in line for line in got["results"][0]["tail"]), got["results"][0]["tail"]
    assert "[lint] $ python -m compileall -q pipelines" in result.stderr


def test_run_runs_every_step_and_prints_their_output(project):
    result = expenv(project, "ci", "run", "--event", "pull_request", "--from", "a", "--to", "main")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[check] $ expenv check --branch main" in result.stdout
    assert "feature store required on branch main" in result.stdout      # check's own summary, streamed
    assert "lint: ok" in result.stderr and "check: ok" in result.stderr


def _workflows() -> dict[str, dict]:
    import yaml

    found = {p.name: yaml.safe_load(p.read_text()) for p in sorted(WORKFLOWS.glob("*.yml"))}
    assert found, f"no workflows in {WORKFLOWS}"
    return found


def test_the_workflows_run_only_the_plans_and_their_triggers_match_the_events(project):
    """The workflows run only the plans (actionlint itself runs in
    tests/template/test_rendered_repository.py::test_actionlint_passes_on_every_workflow)."""
    import re

    events = {}
    for name, flow in _workflows().items():
        triggers = flow.get("on", flow.get(True))      # YAML 1.1 reads a bare `on` as true
        assert flow.get("name") and triggers and flow.get("jobs"), name
        for job_name, job in flow["jobs"].items():
            assert job.get("runs-on") and job.get("steps"), (name, job_name)
            runs = [step["run"] for step in job["steps"] if "run" in step]
            for step in job["steps"]:
                assert ("uses" in step) != ("run" in step), (name, step)
                assert "uses" not in step or re.fullmatch(r"actions/[\w-]+@v\d+", step["uses"]), step
            for line in runs:
                assert re.fullmatch(r"(make [\w-]+|expenv ci run --event \w+( --(from|to) \S+)*)", line), line
                # untrusted branch names reach the shell through env, never through ${{ }} in run:
                assert "${{" not in line, line
            ci = [r for r in runs if r.startswith("expenv ci run")]
            assert len(ci) == 1, (name, runs)
            events[re.search(r"--event (\w+)", ci[0]).group(1)] = (set(triggers), ci[0], job.get("env", {}))
    assert set(events) == {"pull_request", "push", "schedule"}
    assert events["pull_request"][0] == {"pull_request"}
    assert events["pull_request"][2]["HEAD_BRANCH"] == "${{ github.head_ref }}"
    assert events["pull_request"][2]["BASE_BRANCH"] == "${{ github.base_ref }}"
    assert events["push"][0] == {"push"} and "--to main" in events["push"][1]
    push = next(f for f in _workflows().values() if "push" in f.get("on", f.get(True)))
    assert push.get("on", push.get(True))["push"]["branches"] == ["main"]
    assert "schedule" in events["schedule"][0]
    for event, (_, line, _) in events.items():
        args = line.replace('"$HEAD_BRANCH"', "feature/x").replace('"$BASE_BRANCH"', "release/1.0").split()[3:]
        assert plan(project, *args)["steps"], f"the {event} workflow runs an empty plan"


def test_promote_names_a_tracking_server_that_does_not_answer(project):
    config = project / "expenv.toml"
    config.write_text(config.read_text().replace('backend = "docker"\n',
                                                 'backend = "docker"\ntracking_uri = "http://127.0.0.1:9"\n'))
    result = expenv(project, "ci", "promote")
    assert result.returncode == 1
    assert "expenv ci promote: the tracking server of target preprod (http://127.0.0.1:9) does not answer" \
        in result.stderr


async def test_the_lsp_command_answers_the_same_plan_as_the_cli(client, project):
    """`expenv.ci.plan` on the real `expenv serve`: the same JSON as `expenv ci plan --json` for each
    kind of event; a missing or wrong field is named and the daemon keeps serving."""
    from tests.lsp.session import command, start

    await start(client, project)
    for args, options in [
        (["--event", "pull_request", "--from", "feature/x", "--to", "release/1.0"],
         {"event": "pull_request", "from": "feature/x", "to": "release/1.0"}),
        (["--event", "push", "--to", "main", "--alias", "production", "--model", "m"],
         {"event": "push", "to": "main", "alias": "production", "model": "m"}),
        (["--event", "schedule"], {"event": "schedule"}),
    ]:
        assert await command(client, "expenv.ci.plan", options) == plan(project, *args), options
    with pytest.raises(Exception, match="event is missing"):
        await command(client, "expenv.ci.plan", {"to": "main"})
    with pytest.raises(Exception, match="to: a pull_request event needs"):
        await command(client, "expenv.ci.plan", {"event": "pull_request", "from": "feature/x"})
    with pytest.raises(Exception, match="alias must be a non-empty string"):
        await command(client, "expenv.ci.plan", {"event": "push", "to": "main", "alias": 3})
    served = await command(client, "expenv.ci.plan", {"event": "schedule", "workspace": str(project)})
    assert served["kind"] == "template-update"
