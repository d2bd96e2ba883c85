"""A template folder (expenv's packaged one, or any plain folder) kept as a git repository with version
tags, so that `copier update` can render the version a project was made from and the newest one.

copier updates only from a git template: it records `_src_path` and `_commit` (a tag) in
.copier-answers.yml and renders both versions to merge the change. `expenv new` from a folder renders
from this repository instead: one commit per content the folder had, tagged `v<expenv version>` (then
`.post1`, `.post2`… when the same version's template changed). The repository remembers its folder,
so `expenv ci template-update` first adds the folder's current content (an upgraded expenv's template)
as the newest tag. It lives in this machine's cache (~/.cache/expenv/templates/): a CI runner that
does not keep it needs a template published at a URL (README: "Repository template").
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
from pathlib import Path

from expenv.domain.errors import ExpenvError
from expenv.services.repository import git

SOURCE_KEY = "expenv.templatesource"   # git config of the repository: the folder it mirrors
IGNORED = shutil.ignore_patterns(".git", "__pycache__", "*.pyc")


def _git(repo: Path, *args: str, check: bool = True) -> str:
    identity = ("-c", "user.name=expenv", "-c", "user.email=expenv@localhost", "-c", "commit.gpgsign=false",
                "-c", "tag.gpgsign=false")
    if check:
        return git.output(repo, *identity, *args)
    return git.run(repo, *identity, *args).stdout.strip()


def cache_root() -> Path:
    from expenv.services.images.context import cache_dir

    return cache_dir() / "templates"


def is_git_root(path: Path) -> bool:
    return (Path(path) / ".git").exists()


def versioned(source: Path) -> Path:
    """The git repository of the template folder `source`, brought up to date with its content."""
    from expenv import __version__

    source = Path(source).resolve()
    if not (source / "copier.yml").is_file():
        raise ExpenvError(f"template: no copier.yml in {source}")
    repo = cache_root() / f"{source.name}-{hashlib.sha256(str(source).encode()).hexdigest()[:12]}"
    repo.parent.mkdir(parents=True, exist_ok=True)
    with open(repo.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # several `expenv new` at once share the repository
        if not is_git_root(repo):
            shutil.rmtree(repo, ignore_errors=True)
            repo.mkdir()
            _git(repo, "init", "-q", "-b", "main")
            _git(repo, "config", SOURCE_KEY, str(source))
        for entry in repo.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        shutil.copytree(source, repo, ignore=IGNORED, dirs_exist_ok=True, symlinks=True)
        _git(repo, "add", "-A", "--force", ".")   # the template's own .gitignore is for the rendered project
        if _git(repo, "status", "--porcelain"):
            _git(repo, "commit", "-q", "-m", f"expenv {__version__}: the template of {source}")
            _git(repo, "tag", _next_tag(repo, f"v{__version__}"))
    return repo


def _next_tag(repo: Path, base: str) -> str:
    posts = [0 if tag == base else int(m.group(1)) for tag in _git(repo, "tag", "-l").split()
             if tag == base or (m := re.fullmatch(re.escape(base) + r"\.post(\d+)", tag))]
    return base if not posts else f"{base}.post{max(posts) + 1}"


def refresh_recorded(src_path: str | None) -> bool:
    """Before `copier update`: when a project's `_src_path` is such a repository and its folder is here,
    add the folder's current content. True when it is one."""
    if not src_path or not is_git_root(Path(src_path)):
        return False
    folder = _git(Path(src_path), "config", "--get", SOURCE_KEY, check=False)
    if not folder or not Path(folder).is_dir():
        return False
    versioned(Path(folder))
    return True
