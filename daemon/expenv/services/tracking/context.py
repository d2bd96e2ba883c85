"""What every run expenv starts is told: where to log, and the tags that place it (git sha and
branch, stage, image, runner). Passed as environment variables so the production image needs
nothing from expenv to honour it."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from expenv.domain import tracking as t
from expenv.services.tracking import locate

log = logging.getLogger(__name__)

ENV_TAGS = "EXPENV_RUN_TAGS"


def git_state(root: Path) -> dict[str, str]:
    """Commit sha and branch of the repository holding `root` (empty when it is not one)."""
    try:
        import git  # GitPython, imported on first use
    except ImportError:
        return {}
    try:
        repo = git.Repo(root, search_parent_directories=True)
        state = {t.TAG_GIT_SHA: repo.head.commit.hexsha}
    except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError, ValueError):
        return {}
    try:
        state[t.TAG_GIT_BRANCH] = repo.active_branch.name
    except TypeError:  # detached HEAD (CI checkouts): the CI's own variable names the branch
        branch = os.environ.get("GITHUB_HEAD_REF") or os.environ.get("CI_COMMIT_REF_NAME")
        if branch:
            state[t.TAG_GIT_BRANCH] = branch
    if repo.is_dirty(untracked_files=False):
        state["expenv.git.dirty"] = "true"
    return state


def run_tags(root: Path, runner: str, image: str | None = None, image_digest: str | None = None,
             pipeline: str | None = None, step: str | None = None,
             feature_service: str | None = None) -> dict[str, str]:
    tags = git_state(root)
    tags[t.TAG_STAGE] = t.stage_of(tags.get(t.TAG_GIT_BRANCH))
    tags[t.TAG_RUNNER] = runner
    optional = {t.TAG_IMAGE: image, t.TAG_IMAGE_DIGEST: image_digest, t.TAG_PIPELINE: pipeline,
                t.TAG_STEP: step, t.TAG_FEATURE_SERVICE: feature_service}
    tags.update({k: v for k, v in optional.items() if v})
    return tags


def child_env(uri: str | None, experiment: str, tags: dict[str, str]) -> dict[str, str]:
    """Environment for a kernel, a process or a container: one tracking server, one experiment.
    Without a URI (no server up yet) a process with expenv installed finds it at `import mlflow`."""
    env = {"MLFLOW_EXPERIMENT_NAME": experiment, ENV_TAGS: json.dumps(tags)}
    if uri:
        env["MLFLOW_TRACKING_URI"] = uri
    return env


def given_tags() -> dict[str, str]:
    """The tags the launcher handed over in EXPENV_RUN_TAGS (empty when absent or not a JSON object)."""
    try:
        value = json.loads(os.environ.get(ENV_TAGS) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def live_tags(workspace: Path | None) -> dict[str, str]:
    """The tags of a run, computed where and when it starts: git sha and branch of the script's (else
    the working folder's) repository, stage, runner (notebook in a kernel, else local), the
    production image of the devcontainer, and the pipeline (the script, relative to the workspace)."""
    start = locate.origin()
    tags = {t.TAG_RUNNER: "notebook" if locate.in_kernel() else "local"}
    try:
        tags.update(git_state(start))
    except Exception:  # noqa: BLE001 - a repository git cannot read (ownership, corruption) gives no git tags
        pass
    if t.TAG_GIT_SHA in tags:
        tags[t.TAG_STAGE] = t.stage_of(tags.get(t.TAG_GIT_BRANCH))
    if image := os.environ.get("EXPENV_PRODUCTION_IMAGE"):
        tags[t.TAG_IMAGE] = image
    script = None if locate.in_kernel() else locate.script_path()
    if script and workspace and workspace in script.parents:
        tags[t.TAG_PIPELINE] = script.relative_to(workspace).as_posix()
    return tags


GIT_TAGS = (t.TAG_GIT_SHA, t.TAG_GIT_BRANCH, t.TAG_STAGE, "expenv.git.dirty")


def merged_tags(live: dict[str, str], given: dict[str, str], in_kernel: bool = False) -> dict[str, str]:
    """What the launcher said wins (a pipeline knows the commit and patch it submitted), the git
    state as one block: the launcher's, unless it gave none, or in a kernel. A kernel lives for
    hours, and the repository read at run start is newer than the one read when it started (the
    user may have committed or switched branch since)."""
    def split(tags: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        return ({k: v for k, v in tags.items() if k in GIT_TAGS}, {k: v for k, v in tags.items() if k not in GIT_TAGS})

    (live_git, live_rest), (given_git, given_rest) = split(live), split(given)
    use_live = t.TAG_GIT_SHA in live_git and (in_kernel or t.TAG_GIT_SHA not in given_git)
    return {**live_rest, **given_rest, **(live_git if use_live else given_git)}


class ExpenvRunContext:
    """MLflow run-context provider (entry point `mlflow.run_context_provider`), loaded at
    `import mlflow` wherever expenv is installed (the devcontainer's production Python, the
    kernels, local runs). Loading points MLflow at the workspace's server and experiment when
    nothing else did (see `locate`); every run in a workspace, or launched by expenv
    (EXPENV_RUN_TAGS), then gets expenv's tags without a line of user code."""

    def __init__(self) -> None:
        self.workspace: Path | None = None
        try:
            self.workspace = locate.point_mlflow_at_workspace()
        except Exception as exc:  # noqa: BLE001 - `import mlflow` must never fail because of expenv
            log.warning("expenv: could not read the workspace's tracking settings: %s", exc)
        try:
            from expenv.services.tracking.feast_headers import defer_feast_request_headers

            defer_feast_request_headers()
        except Exception as exc:  # noqa: BLE001 - only slower without it
            log.debug("expenv: feast's MLflow header provider loads as usual: %s", exc)

    def in_context(self) -> bool:
        return bool(os.environ.get(ENV_TAGS)) or locate.find_workspace() is not None

    def tags(self) -> dict[str, str]:
        workspace = locate.find_workspace()
        return merged_tags(live_tags(workspace), given_tags(), locate.in_kernel())
