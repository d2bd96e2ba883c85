"""The scheduled job (`expenv ci run --event schedule`): `copier update` against the newest template
version, a branch and a commit when the template changed (no GITHUB_TOKEN here: nothing is pushed),
nothing when it did not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.pipelines.conftest import git

ANSWERS = "{{ _copier_answers|to_nice_yaml -}}\n"


def _template(root: Path) -> Path:
    root.mkdir()
    (root / "copier.yml").write_text("project_name:\n  type: str\n  default: demo\n")
    (root / "{{_copier_conf.answers_file}}.jinja").write_text(ANSWERS)
    (root / "README.md.jinja").write_text("# {{ project_name }}\n\nTemplate v1.\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v1")
    git(root, "tag", "v1")
    return root


def _schedule(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "expenv", "ci", "run", "--event", "schedule", "--json", "-w",
                           str(root)], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "GITHUB_TOKEN": ""})


def test_a_template_change_becomes_a_branch_with_a_commit(tmp_path):
    template = _template(tmp_path / "template")
    project = tmp_path / "project"
    made = subprocess.run([sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--data",
                           "project_name=churn", str(template), str(project)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "rendered")

    unchanged = _schedule(project)
    assert unchanged.returncode == 0, unchanged.stderr
    assert "the template did not change" in unchanged.stderr + unchanged.stdout
    assert git(project, "branch", "--show-current") == "main"

    (template / "README.md.jinja").write_text("# {{ project_name }}\n\nTemplate v2.\n")
    git(template, "commit", "-q", "-am", "v2")
    git(template, "tag", "v2")
    updated = _schedule(project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert json.loads(updated.stdout)["ok"] is True
    branch = git(project, "branch", "--show-current")
    assert branch.startswith("template-update/")
    assert "(no GITHUB_TOKEN: not pushed)" in updated.stderr
    assert git(project, "show", f"{branch}:README.md") == "# churn\n\nTemplate v2."
    assert git(project, "log", "-1", "--format=%s") == "Update from the project template (copier update)"
    assert "_commit: v2" in (project / ".copier-answers.yml").read_text()
    assert git(project, "status", "--porcelain") == ""


def test_a_repository_without_copier_answers_is_refused_by_name(tmp_path):
    root = tmp_path / "plain"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    result = _schedule(root)
    assert result.returncode == 1
    assert ".copier-answers.yml: not found" in result.stderr
