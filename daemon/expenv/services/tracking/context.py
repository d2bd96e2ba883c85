"""What every run expenv starts is told: where to log, and the tags that place it (git sha and
branch, stage, image, runner). Passed as environment variables so the production image needs
nothing from expenv to honour it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from expenv.domain import tracking as t

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


def child_env(uri: str, experiment: str, tags: dict[str, str]) -> dict[str, str]:
    """Environment for a kernel, a process or a container: one tracking server, one experiment."""
    return {"MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": experiment, ENV_TAGS: json.dumps(tags)}


class ExpenvRunContext:
    """MLflow run-context provider (entry point `mlflow.run_context_provider`): where expenv is
    installed (the notebook kernel, local runs), every run gets the tags of `EXPENV_RUN_TAGS`
    without a line of user code."""

    def in_context(self) -> bool:
        return bool(os.environ.get(ENV_TAGS))

    def tags(self) -> dict[str, str]:
        try:
            value = json.loads(os.environ.get(ENV_TAGS, "{}"))
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
