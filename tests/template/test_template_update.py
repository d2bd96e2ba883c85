"""`copier update` brings a template change into a repository made by `expenv new`, keeping the
repository's own edits (what the scheduled template-update job runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from expenv.services.repository import template_dir
from tests.template.conftest import BIN, expenv, git, new_repository, run


def test_copier_update_applies_a_template_change_cleanly(tmp_path):
    template = tmp_path / "template"
    shutil.copytree(template_dir(), template)  # the packaged folder, as a git repository of its own
    git(template, "init", "-q", "-b", "main")
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "template v1")
    git(template, "tag", "v1.0.0")

    repo = tmp_path / "churn"
    made = new_repository(repo, {"project_name": "churn", "preprod_backend": "docker"}, f"--template={template}")
    assert made["template"] == str(template)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "expenv new")
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "\nOur own notes.\n")
    git(repo, "commit", "-q", "-am", "our notes")

    guide = template / "CONTRIBUTING.md.jinja"
    guide.write_text(guide.read_text() + "\n## Reviews\n\nEvery pull request of {{ project_name }} needs one review.\n")
    git(template, "commit", "-q", "-am", "template v1.1: reviews")
    git(template, "tag", "v1.1.0")

    result = run([str(BIN / "copier"), "update", "--defaults"], cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Every pull request of churn needs one review." in (repo / "CONTRIBUTING.md").read_text()
    assert readme.read_text().endswith("Our own notes.\n")
    assert "_commit: v1.1.0" in (repo / ".copier-answers.yml").read_text()
    changed = git(repo, "status", "--porcelain").split("\n")
    assert not [line for line in changed if line.endswith(".rej")]
    assert "<<<<<<<" not in (repo / "CONTRIBUTING.md").read_text()
    assert expenv("check", "--json", cwd=repo).returncode == 0


def test_a_repository_made_from_a_template_folder_updates_with_the_scheduled_job(tmp_path):
    """`expenv new` from a template folder that is no git repository (expenv's packaged one, or a copy
    of it standing for an upgraded expenv's) records a git template with a version tag, so `copier
    update` works; the scheduled job (`expenv ci run --event schedule`) brings the folder's change in."""
    import json
    import sys

    from expenv import __version__

    env = {"EXPENV_CACHE_DIR": str(tmp_path / "cache"), "GITHUB_TOKEN": ""}
    packaged = tmp_path / "packaged"
    made = run([sys.executable, "-m", "expenv", "new", str(packaged), "--defaults", "--json"], cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    answers = yaml.safe_load((packaged / ".copier-answers.yml").read_text())
    assert answers["_commit"] == f"v{__version__}" and (Path(answers["_src_path"]) / ".git").is_dir()
    assert Path(answers["_src_path"]).is_relative_to(tmp_path / "cache")

    folder = tmp_path / "expenv-template"
    shutil.copytree(template_dir(), folder)
    repo = tmp_path / "churn"
    made = run([sys.executable, "-m", "expenv", "new", str(repo), "--defaults", "--data=project_name=churn",
                f"--template={folder}", "--json"], cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "expenv new")
    guide = folder / "CONTRIBUTING.md.jinja"
    guide.write_text(guide.read_text() + "\n## Reviews\n\nEvery pull request of {{ project_name }} needs one review.\n")

    job = run([sys.executable, "-m", "expenv", "ci", "run", "--event", "schedule", "--json"], cwd=repo, env=env)
    assert job.returncode == 0, job.stdout + job.stderr
    assert json.loads(job.stdout)["ok"] is True
    branch = git(repo, "branch", "--show-current").strip()
    assert branch.startswith("template-update/")
    assert "Every pull request of churn needs one review." in (repo / "CONTRIBUTING.md").read_text()
    assert f"_commit: v{__version__}.post1" in (repo / ".copier-answers.yml").read_text()
    assert git(repo, "status", "--porcelain") == ""
