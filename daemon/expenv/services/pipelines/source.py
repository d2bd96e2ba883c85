"""The code a run ships: the workspace at a git commit, plus uncommitted changes to tracked files
as a patch recorded on the run (its sha256 on the run and in MLflow, the diff as an artifact).
Untracked files are never shipped, except a target's `include` paths (data git does not hold)."""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from expenv.domain.pipelines import PipelineError
from expenv.services.repository import git


@dataclass(frozen=True)
class PinnedCode:
    commit: str
    branch: str | None
    tree: str            # what is archived: the commit, or a `git stash create` commit holding the changes
    patch: str           # `git diff` of the uncommitted changes ("" when clean)
    subdir: str          # the workspace folder inside the repository ("" at its top)

    @property
    def patch_sha(self) -> str | None:
        return hashlib.sha256(self.patch.encode()).hexdigest() if self.patch else None


def _git(root: Path, *args: str, check: bool = True) -> str:
    if check:
        return git.output(root, *args, error=PipelineError)
    result = git.run(root, *args)
    if result.returncode == 127:
        raise PipelineError("git is not installed: a pipeline runs code pinned to a git commit")
    return result.stdout.strip()


def pin(root: Path) -> PinnedCode:
    """The commit the workspace is at, and the patch of its uncommitted changes (two git commands
    when the checkout is clean: a submission waits for them)."""
    inside = _git(root, "rev-parse", "--is-inside-work-tree", "--show-prefix", check=False).split("\n")
    if inside[0] != "true":
        raise PipelineError(f"{root} is not in a git repository: a pipeline runs code pinned to a commit "
                            "(git init && git add -A && git commit)")
    subdir = inside[1].rstrip("/") if len(inside) > 1 else ""
    # `# branch.oid SHA|(initial)`, `# branch.head NAME|(detached)`, then a line per changed tracked file
    status = _git(root, "status", "--porcelain=v2", "--branch", "--untracked-files=no", "--", ".").splitlines()
    header = dict(line[2:].split(" ", 1) for line in status if line.startswith("# ") and " " in line[2:])
    commit = header.get("branch.oid", "(initial)")
    if commit == "(initial)":
        raise PipelineError(f"the repository at {root} has no commit yet: commit the code the pipeline runs")
    branch = header.get("branch.head")
    branch = None if branch in (None, "(detached)") else branch
    patch = _git(root, "diff", "--binary", "HEAD", "--", ".") if any(not line.startswith("#")
                                                                     for line in status) else ""
    tree = commit
    if patch:
        # A commit object of the working tree (no ref, nothing in the user's checkout changes).
        tree = _git(root, "stash", "create") or commit
    return PinnedCode(commit, branch, tree, patch + "\n" if patch else "", subdir)


def write_archive(root: Path, code: PinnedCode, includes: tuple[str, ...], dest: Path) -> int:
    """A tar of the workspace at `code.tree` (paths relative to the workspace) plus `includes`;
    returns its size in bytes."""
    treeish = f"{code.tree}:{code.subdir}" if code.subdir else code.tree
    archived = git.run(root, "archive", "--format=tar", treeish, timeout=300, text=False)
    if archived.returncode != 0:
        raise PipelineError(f"git archive {treeish} failed: {archived.stderr.decode(errors='replace')[:500]}")
    data = archived.stdout
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w") as out:
        with tarfile.open(fileobj=io.BytesIO(data)) as archived:
            for member in archived.getmembers():
                out.addfile(member, archived.extractfile(member) if member.isfile() else None)
        for rel in includes:
            path = root / rel
            if not path.exists():
                raise PipelineError(f"the target includes {rel}, which does not exist in {root}")
            if root.resolve() not in path.resolve().parents:
                raise PipelineError(f"the target includes {rel}, which is outside the workspace {root}")
            out.add(path, arcname=rel, filter=_plain)
    return dest.stat().st_size


def _plain(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Included files as plain entries: no host owner names, no special files."""
    if not (member.isfile() or member.isdir()):
        return None
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member
