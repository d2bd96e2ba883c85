"""Promotion on a merge into main: the pre-prod run of the release commit (found through its MLflow
tags), its model registered under an alias, the production image tagged with the commit and the
release, and the commit tagged in git (promotion_record). Nothing is retrained."""

from __future__ import annotations

from typing import Any

from expenv.domain.errors import ExpenvError
from expenv.services.ci.promotion_record import DEFAULT_ALIAS, tag_promotion
from expenv.services.ci.release import RELEASE_TAG, TREE_TAG, _client, tracking_uri
from expenv.services.repository.git import output as git

PARENT_TAG = "mlflow.parentRunId"
COMMIT_TAG = "mlflow.source.git.commit"


def release_commits(root) -> list[str]:
    """The merged release (a merge commit's second parent), then HEAD (a fast-forward). Not the first
    parent: the previous main was promoted already, and a later commit on it was not deployed."""
    head, *parents = git(root, "rev-list", "--parents", "-n", "1", "HEAD").split()
    return [*parents[1:], head]


def find_preprod_run(client, experiment_id: str, pipeline: str, target: str, commits: list[str], trees: list[str]):
    """The newest finished top-level pre-prod run of PIPELINE made at one of COMMITS, else of one of
    TREES (GitHub's pull-request merge commit is not in main's history; its tree is)."""
    runs = client.search_runs([experiment_id], filter_string=(
        f"tags.`expenv.target` = '{target}' and tags.`expenv.pipeline` = '{pipeline}' "
        "and attributes.status = 'FINISHED'"), order_by=["attributes.start_time DESC"], max_results=200)
    top = [r for r in runs if PARENT_TAG not in r.data.tags]
    for wanted, tag in ((commits, COMMIT_TAG), (trees, TREE_TAG)):
        for value in wanted:
            for run in top:
                if run.data.tags.get(tag) == value:
                    return run
    raise ExpenvError(f"no finished {pipeline} run on {target} at {', '.join(c[:12] for c in commits)}: the "
                      f"pull request into the release branch deploys it (`expenv ci run --event pull_request`)")


def _logged_model(client, experiment_id: str, run):
    children = client.search_runs([experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{run.info.run_id}'")
    for source in [run, *children]:
        models = client.search_logged_models([experiment_id], filter_string=f"source_run_id = '{source.info.run_id}'")
        if models:
            return source, models[0]
    raise ExpenvError(f"the pre-prod run {run.info.run_id} logged no model: nothing to register")


def tag_image(image: str | None, digest: str | None, commit: str, release: str | None) -> list[str]:
    """Tag the run's image (by digest when known) as REPO:COMMIT and REPO:RELEASE-VERSION."""
    if not image:
        return []
    from expenv.services.images import docker_client

    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    client = docker_client()
    try:
        found = client.images.get(digest or image)
        tags = [commit[:12], *([release.rsplit("/", 1)[-1]] if release else [])]
        for tag in tags:
            found.tag(repo, tag)
        return [f"{repo}:{t}" for t in tags]
    except Exception as exc:   # docker.errors.ImageNotFound / APIError: name the image
        raise ExpenvError(f"cannot tag the production image {image} ({digest or 'no digest'}): {exc}") from None
    finally:
        client.close()


def promote(services, target: str = "preprod", pipeline: str | None = None, alias: str = DEFAULT_ALIAS,
            model: str | None = None, tag_images: bool = True) -> dict[str, Any]:
    config = services.config
    root = config.root
    pipeline = pipeline or ("train" if "train" in config.pipelines else next(iter(config.pipelines), None))
    if not pipeline:
        raise ExpenvError("pipeline: no [pipelines.*] in expenv.toml")
    client = _client(tracking_uri(services, target))
    experiment = client.get_experiment_by_name(config.project.name)
    if experiment is None:
        raise ExpenvError(f"no MLflow experiment {config.project.name!r}: no pre-prod run to promote")
    commits = release_commits(root)
    trees = [git(root, "rev-parse", "HEAD^{tree}")]    # exactly the code now on main
    run = find_preprod_run(client, experiment.experiment_id, pipeline, target, commits, trees)
    tags = run.data.tags
    release = tags.get(RELEASE_TAG) or tags.get("mlflow.source.git.branch")
    source_run, logged = _logged_model(client, experiment.experiment_id, run)
    name = model or config.project.name
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    head = commits[-1]
    images = tag_image(tags.get("expenv.image"), tags.get("expenv.image_digest"), head, release) if tag_images else []
    version = client.create_model_version(
        name, logged.artifact_location, run_id=source_run.info.run_id, model_id=logged.model_id,
        tags={"expenv.commit": head, "expenv.release": release or "", "expenv.preprod_run": run.info.run_id,
              "expenv.run_commit": tags.get(COMMIT_TAG, ""), "expenv.images": ",".join(images)})
    client.set_registered_model_alias(name, alias, version.version)
    promoted = {"model": name, "version": version.version, "alias": alias, "preprod_run": run.info.run_id,
                "source_run": source_run.info.run_id, "release": release, "commit": head,
                "run_commit": tags.get(COMMIT_TAG), "images": images}
    return {**promoted, **tag_promotion(root, promoted)}
