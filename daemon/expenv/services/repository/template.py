"""Render the repository template (templates/project, a copier template) into a new folder.

The template ships inside the package (expenv/templates is the repository's templates/), so
`expenv new` works from an installed expenv, offline. A rendering records `_src_path` and `_commit`
in .copier-answers.yml; `copier update` needs that source to be a git repository with version tags:
`expenv new` renders a folder through versions.py's git copy of it.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from expenv.domain.errors import ExpenvError

ANSWERS_FILE = ".copier-answers.yml"


def template_dir() -> Path:
    """The packaged template folder (or $EXPENV_TEMPLATE, a copier source: folder or git URL)."""
    return Path(str(resources.files("expenv").joinpath("templates", "project")))


def template_source(template: str | None = None) -> str:
    return template or os.environ.get("EXPENV_TEMPLATE") or str(template_dir())


def questions(template: str | None = None) -> dict[str, dict[str, Any]]:
    """The template's questions (name → help, type, default, choices) in the order asked; read
    from a local template's copier.yml, so the editor can ask the same ones as quick inputs."""
    import yaml

    source = Path(template_source(template))
    config = source / "copier.yml"
    if not config.is_file():
        raise ExpenvError(f"template: no copier.yml in {source}")
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return {name: {"help": q.get("help", ""), "type": q.get("type", "str"), "default": q.get("default"),
                   "choices": q.get("choices"), "when": q.get("when", True)}
            for name, q in data.items() if not name.startswith("_") and isinstance(q, dict)}


def render_project(dest: Path, answers: dict[str, Any] | None = None, *, defaults: bool = True,
                   overwrite: bool = False, template: str | None = None, vcs_ref: str | None = None,
                   allow_existing: bool = False) -> dict[str, Any]:
    """Render the template into `dest`; `answers` fill the questions (the rest take their defaults
    when `defaults`, else copier asks on the terminal). Returns {root, template, answers, files}."""
    from copier import run_copy

    dest = Path(dest).expanduser().resolve()
    source = template_source(template)
    answers = dict(answers or {})
    local = Path(source)
    if local.is_dir():
        unknown = sorted(set(answers) - set(questions(source)))
        if unknown:
            raise ExpenvError(f"template: no question named {', '.join(unknown)} "
                              f"(questions: {', '.join(questions(source))})")
    if dest.exists() and not dest.is_dir():
        raise ExpenvError(f"dest: {dest} exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not (allow_existing or overwrite):
        raise ExpenvError(f"dest: {dest} is not empty; choose an empty or new folder")
    before = _files(dest)
    try:
        run_copy(source, str(dest), data=answers, defaults=defaults, overwrite=overwrite or allow_existing,
                 quiet=True, vcs_ref=vcs_ref, unsafe=False)
    except ValueError as exc:  # copier's validation errors name the question
        raise ExpenvError(f"template: {exc}") from None
    return {"root": str(dest), "template": source, "answers": recorded_answers(dest),
            "files": sorted(str(p) for p in _files(dest) - before)}


def create_project(dest: Path, answers: dict[str, Any] | None = None, *, defaults: bool = True,
                   template: str | None = None, vcs_ref: str | None = None, setup: bool = True) -> dict[str, Any]:
    """`expenv new`: render the template into `dest`, then run its setup step (`make hooks`: git
    init when `dest` is not a repository yet, the nbstripout filter). A template folder that is no
    git repository (expenv's own) is rendered from its versioned git copy (services/repository/
    versions.py), which .copier-answers.yml records. Same JSON as render_project, plus "setup" (the
    step's output, or null when skipped)."""
    from expenv.services.repository.versions import is_git_root, versioned

    source = template_source(template)
    if Path(source).is_dir() and not is_git_root(Path(source)):
        source = str(versioned(Path(source)))   # a git template with version tags: `copier update` works
    result = render_project(dest, answers, defaults=defaults, template=source, vcs_ref=vcs_ref)
    result["setup"] = run_setup(Path(result["root"])) if setup else None
    return result


def run_setup(root: Path) -> str:
    """The rendered repository's setup step (`make hooks`: git init, the nbstripout filter), with this
    Python (which has nbstripout)."""
    import shutil
    import subprocess
    import sys

    if shutil.which("make") is None:
        raise ExpenvError(f"setup: `make` is not installed; install it and run `make hooks` in {root}")
    done = subprocess.run(["make", "hooks", f"PYTHON={sys.executable}"], cwd=root, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise ExpenvError(f"setup: `make hooks` failed in {root}: {(done.stderr or done.stdout).strip()[-2000:]}")
    return done.stdout


def _answers_file(root: Path) -> dict[str, Any]:
    import yaml

    path = Path(root) / ANSWERS_FILE
    return (yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None) or {}


def recorded_answers(root: Path) -> dict[str, Any]:
    """The answers a rendering recorded in .copier-answers.yml (copier's own keys left out)."""
    return {k: v for k, v in _answers_file(root).items() if not k.startswith("_")}


def recorded_source(root: Path) -> str | None:
    """The template source a rendering recorded (`_src_path`)."""
    return _answers_file(root).get("_src_path")


def _files(root: Path) -> set[Path]:
    if not root.is_dir():
        return set()
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts}
