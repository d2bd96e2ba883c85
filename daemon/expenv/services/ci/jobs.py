"""Two CI steps that are not pipeline runs: the pipeline's code tested inside the production image,
and the scheduled `copier update` that keeps a repository up with its template."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from expenv.domain.errors import ExpenvError
from expenv.services.repository.git import output as git

ANSWERS_FILE = ".copier-answers.yml"
UPDATE_BRANCH = "template-update"

# Run inside the image (repo mounted read-only at /src): compile the pipeline code, check that the image
# has every module it imports, then run tests/ with pytest when there are tests.
IMAGE_TEST = r"""
import ast, importlib.util, pathlib, shutil, subprocess, sys
shutil.copytree("/src", "/tmp/work", ignore=shutil.ignore_patterns(".git", ".expenv", "__pycache__"))
root = pathlib.Path("/tmp/work"); sys.path[:0] = [str(root), str(root / "src")]
local = {p.stem for p in root.glob("*/*.py")} | {p.name for p in root.glob("src/*") if p.is_dir()}
missing, files = set(), [p for d in ("src", "pipelines") for p in (root / d).rglob("*.py")]
for path in files:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        for name in names:
            top = name.split(".")[0]
            if top not in local and importlib.util.find_spec(top) is None:
                missing.add(f"{path.relative_to(root)}: {top}")
print(f"{len(files)} pipeline/library modules compile in the image")
if missing:
    sys.exit("modules the pipeline code imports but the image lacks:\n  " + "\n  ".join(sorted(missing)))
tests = list((root / "tests").rglob("test_*.py")) if (root / "tests").is_dir() else []
if not tests:
    print("no tests/ in the repository: nothing more to run"); sys.exit(0)
# pytest is a dev tool, not a production package: the runner's copy, after the image's own packages
run = ("import sys; sys.path.append('/ci-tools'); import pytest; "
       "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests']))")
sys.exit(subprocess.call([sys.executable, "-c", run], cwd=root))
"""
TEST_TOOLS = ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "py")


def _test_tools(into: Path) -> None:
    """Copy this interpreter's pytest (pure Python) and its dependencies into INTO."""
    import importlib.util

    for name in TEST_TOOLS:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            continue
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, into / origin.name)


def image_test(config) -> dict[str, Any]:
    """Run IMAGE_TEST in the production image (this interpreter's pytest mounted at /ci-tools); its output
    and exit code."""
    image = config.environment.production_image
    if not image:
        raise ExpenvError("environment.production_image: not set in expenv.toml")
    from expenv.services.images import docker_client

    client = docker_client()
    name = f"expenv-ci-image-test-{os.getpid()}"
    tools = Path(tempfile.mkdtemp(prefix="expenv-ci-tools-"))
    try:
        _test_tools(tools)
        tools.chmod(0o755)
        container = client.containers.run(
            image, ["python", "-c", IMAGE_TEST], name=name, detach=True, network_mode="none",
            user=f"{os.getuid()}:{os.getgid()}",   # reads the mounted checkout as its owner
            volumes={str(config.root): {"bind": "/src", "mode": "ro"}, str(tools): {"bind": "/ci-tools", "mode": "ro"}},
            environment={"PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"})
        try:
            code = container.wait().get("StatusCode", 1)
            output = container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)
    except ExpenvError:
        raise
    except Exception as exc:   # docker.errors.*: the image or the engine
        raise ExpenvError(f"cannot run the tests in {image}: {exc}") from None
    finally:
        client.close()
        shutil.rmtree(tools, ignore_errors=True)
    return {"image": image, "exit_code": code, "output": output}


def template_update(root: Path, vcs_ref: str | None = None) -> dict[str, Any]:
    """`copier update` against the newest template; when files changed, a branch and a commit
    (pushed with a pull request when GITHUB_TOKEN is set and gh is installed)."""
    if not (root / ANSWERS_FILE).is_file():
        raise ExpenvError(f"{ANSWERS_FILE}: not found in {root}; the repository was not rendered by copier")
    if git(root, "status", "--porcelain"):
        raise ExpenvError("the working tree has uncommitted changes: copier update needs a clean tree")
    base = git(root, "rev-parse", "--abbrev-ref", "HEAD")
    from expenv.services.repository.template import recorded_source
    from expenv.services.repository.versions import refresh_recorded

    refresh_recorded(recorded_source(root))   # a template versioned by `expenv new`: its newest content
    command = [sys.executable, "-m", "copier", "update", "--trust", "--defaults", "--skip-answered",
               *(["--vcs-ref", vcs_ref] if vcs_ref else [])]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise ExpenvError(f"copier update failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    changed = git(root, "status", "--porcelain").splitlines()
    if not changed:
        return {"changed": [], "branch": None, "pull_request": None}
    branch = f"{UPDATE_BRANCH}/{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    git(root, "checkout", "-q", "-b", branch)
    git(root, "add", "-A")
    git(root, "-c", "user.name=expenv", "-c", "user.email=expenv@localhost", "commit", "-q", "-m",
        "Update from the project template (copier update)")
    pull_request = None
    if os.environ.get("GITHUB_TOKEN") and shutil.which("gh"):
        git(root, "push", "-q", "origin", branch)
        made = subprocess.run(["gh", "pr", "create", "--base", base, "--head", branch, "--title",
                               "Update from the project template", "--body", "`copier update` by the scheduled job."],
                              cwd=root, capture_output=True, text=True, check=True)
        pull_request = made.stdout.strip()
    return {"changed": [line[3:] for line in changed], "branch": branch, "base": base, "pull_request": pull_request}
