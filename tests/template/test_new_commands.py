"""`expenv new` and the LSP commands `expenv.project.questions` / `expenv.project.new`; the example
project is a rendering of the same template; the template ships in expenv's wheel."""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from expenv.services.repository import template_dir
from tests.conftest import REPO
from tests.lsp.session import command, start
from tests.template.conftest import expenv, run


def test_new_refuses_an_unknown_question_a_bad_answer_and_a_busy_folder(tmp_path):
    unknown = expenv("new", str(tmp_path / "a"), "--defaults", "--data", "projct_name=x", cwd=tmp_path)
    assert unknown.returncode == 2 and "projct_name" in unknown.stderr
    bad = expenv("new", str(tmp_path / "b"), "--defaults", "--data", "project_name=Not Valid", cwd=tmp_path)
    assert bad.returncode == 2 and "project_name" in bad.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("mine")
    refused = expenv("new", str(busy), "--defaults", cwd=tmp_path)
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert [p.name for p in busy.iterdir()] == ["mine.txt"]
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())


async def test_lsp_asks_the_same_questions_and_renders(client, tmp_path):
    await start(client, tmp_path)
    asked = await command(client, "expenv.project.questions", {})
    names = [q["name"] for q in asked["questions"]]
    assert names[:2] == ["project_name", "package"]
    assert {"python_version", "base_image", "warehouse_url", "tracking_uri", "preprod_backend",
            "preprod_namespace"} <= set(names)
    backend = next(q for q in asked["questions"] if q["name"] == "preprod_backend")
    assert backend["choices"] == ["kubernetes", "docker"]

    dest = tmp_path / "made-in-editor"
    made = await command(client, "expenv.project.new", {"dest": str(dest), "answers": {"project_name": "churn"}})
    assert made["root"] == str(dest) and made["answers"]["project_name"] == "churn"
    assert (dest / ".git").is_dir() and (dest / "src/churn/model.py").is_file()
    status = json.loads(expenv("status", "--json", cwd=dest).stdout)
    assert status["workspaces"][0]["config"]["project"]["name"] == "churn"

    with pytest.raises(Exception, match="answers"):
        await command(client, "expenv.project.new", {"dest": str(tmp_path / "x"), "answers": ["churn"]})
    with pytest.raises(Exception, match="dest"):
        await command(client, "expenv.project.new", {"answers": {}})
    served = await command(client, "expenv.status", {})  # the daemon keeps serving
    assert served["workspaces"][0]["stage"] == {"branch": None, "stage": "dev"}  # not a git repository


def test_the_example_is_a_rendering_of_the_template(tmp_path):
    root = tmp_path / "churn"
    made = expenv("example", "create", str(root), "--rows", "2000", "--json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    answers = yaml.safe_load((root / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "churn" and Path(answers["_src_path"]).resolve() == template_dir().resolve()
    for rel in ("CONTRIBUTING.md", ".devcontainer/devcontainer.json", "Dockerfile", "jupytext.toml",
                ".gitattributes", "notebooks/explore.py", "notebooks/prepare.py"):
        assert (root / rel).is_file(), rel
    assert "## The repository template" in (root / "README.md").read_text()
    check = expenv("check", "--json", cwd=root)
    assert json.loads(check.stdout)["notebooks"] == []
    own_tests = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, timeout=600)
    assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr


def test_the_template_ships_in_the_wheel(tmp_path):
    source = tmp_path / "source"  # a copy: building writes build/ and egg-info beside the sources
    for folder in ("daemon", "templates", "devcontainer"):
        shutil.copytree(REPO / folder, source / folder, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    # pip builds in isolation, with the setuptools pyproject.toml asks for (from the package index)
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                 str(tmp_path), str(source)], cwd=tmp_path, timeout=600)
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("expenv-*.whl")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path / "installed")
    shipped = tmp_path / "installed" / "expenv" / "templates" / "project"
    expected = {p.relative_to(template_dir()) for p in template_dir().rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert {p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file()} == expected
    assert Path(".devcontainer/Dockerfile") in expected and Path(".gitignore") in expected
    # rendered offline from the shipped folder, as an installed expenv does
    made = run([sys.executable, "-m", "expenv", "new", str(tmp_path / "p"), "--defaults", f"--template={shipped}",
                "--no-setup", "--json"], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "p" / ".devcontainer" / "Dockerfile").read_text() == (
        template_dir() / ".devcontainer" / "Dockerfile").read_text()
