"""The record of a promotion that `expenv status` reads back: an annotated git tag on the promoted
commit (`promotion/MODEL-vVERSION`, pushed to origin), and the model registry's alias. Reading never
raises: status shows the parts it can read and omits the others."""

from __future__ import annotations

import json
import os
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from expenv.services.repository import git

TAG_PREFIX = "promotion/"
DEFAULT_ALIAS = "champion"
FIELDS = ("model", "version", "alias", "release", "preprod_run")   # the tag message's `key: value` lines
FETCH_STAMP = "expenv-promotion-tags-fetched"   # in the git directory: when status last fetched the tags
FETCH_EVERY = 300.0
FETCH_TIMEOUT = 5.0


def _identity(root: Path) -> dict[str, str]:
    """A committer for the annotated tag when git has none (a fresh CI runner)."""
    if git.run(root, "var", "GIT_COMMITTER_IDENT").returncode == 0:
        return {}
    return {"GIT_COMMITTER_NAME": "expenv", "GIT_COMMITTER_EMAIL": "expenv@localhost"}


def tag_promotion(root: Path, promoted: dict[str, Any]) -> dict[str, Any]:
    """Tag the promoted commit and push the tag to origin when there is one. The registration is done
    by then, so a failure is reported in the result (`tag_error`), not raised."""
    name = f"{TAG_PREFIX}{promoted['model']}-v{promoted['version']}"
    message = "\n".join([f"Promoted {promoted['model']} version {promoted['version']} as @{promoted['alias']}", "",
                         *(f"{key}: {promoted.get(key) or ''}" for key in FIELDS)])
    made = git.run(root, "tag", "-a", name, "-m", message, promoted["commit"], env=_identity(root))
    if made.returncode != 0:
        return {"tag": None, "tag_pushed": False, "tag_error": made.stderr.strip()}
    if git.run(root, "remote", "get-url", "origin").returncode != 0:
        return {"tag": name, "tag_pushed": False}
    pushed = git.run(root, "push", "-q", "origin", f"refs/tags/{name}")
    return {"tag": name, "tag_pushed": pushed.returncode == 0,
            **({"tag_error": pushed.stderr.strip()} if pushed.returncode else {})}


def fetch_promotion_tags(root: Path, every: float = FETCH_EVERY, timeout: float = FETCH_TIMEOUT) -> bool:
    """Fetch origin's promotion tags (made by CI's promote job), at most once per `every` seconds per
    repository and for at most `timeout` seconds: status is on the editor's status-bar path. The time
    of the last try is a file in the git directory. True when a fetch ran and succeeded."""
    import time

    git_dir = git.run(root, "rev-parse", "--absolute-git-dir")
    if git_dir.returncode != 0 or git.run(root, "remote", "get-url", "origin").returncode != 0:
        return False
    stamp = Path(git_dir.stdout.strip()) / FETCH_STAMP
    try:
        if time.time() - stamp.stat().st_mtime < every:
            return False
        stamp.touch()     # before fetching: a status that follows does not wait for this one's fetch
    except FileNotFoundError:
        stamp.touch()
    except OSError:
        return False
    # non-interactive: no password prompt, no ssh passphrase, on the status bar's path
    quiet = {"GIT_TERMINAL_PROMPT": "0",
             "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND") or "ssh -o BatchMode=yes -o ConnectTimeout=3"}
    done = git.run(root, "fetch", "-q", "--no-tags", "origin", f"+refs/tags/{TAG_PREFIX}*:refs/tags/{TAG_PREFIX}*",
                   env=quiet, timeout=timeout)
    return done.returncode == 0


def _newest_tag(root: Path) -> dict[str, Any]:
    """The newest promotion tag of the repository: name, commit, date and the fields of its message."""
    fmt = "%(refname:strip=2)%00%(*objectname)%00%(objectname)%00%(creatordate:iso-strict)%00%(contents:body)"
    # newest first; within one second the higher version (the last --sort is the primary key)
    found = git.run(root, "for-each-ref", "--sort=-version:refname", "--sort=-creatordate", "--count=1",
                 f"--format={fmt}", f"refs/tags/{TAG_PREFIX}")
    if found.returncode != 0 or not found.stdout.strip():
        return {}
    name, peeled, own, date, body = found.stdout.split("\0", 4)
    commit = peeled or own      # a lightweight tag is the commit itself
    fields = dict(line.split(": ", 1) for line in body.splitlines() if ": " in line)
    return {"tag": name, "commit": commit, "date": date,
            **{key: fields[key].strip() for key in FIELDS if fields.get(key, "").strip()}}


def _registered(uri: str, model: str, alias: str) -> dict[str, Any] | None:
    """The model version the alias points at, over MLflow's REST API (no SDK import, short timeout)."""
    from expenv.services.http_probe import http_get

    query = urllib.parse.urlencode({"name": model, "alias": alias})
    try:
        status, body = http_get(f"{uri.rstrip('/')}/api/2.0/mlflow/registered-models/alias?{query}", timeout=3)
        version = json.loads(body)["model_version"] if status == 200 else None
    except (OSError, ValueError, KeyError):
        return None
    if not version:
        return None
    tags = {t["key"]: t["value"] for t in version.get("tags", [])}
    created = version.get("creation_timestamp")
    return {"name": model, "version": str(version["version"]), "alias": alias,
            **({"commit": tags["expenv.commit"]} if tags.get("expenv.commit") else {}),
            **({"release": tags["expenv.release"]} if tags.get("expenv.release") else {}),
            **({"registered": datetime.fromtimestamp(int(created) / 1000, timezone.utc).isoformat()}
               if created else {})}


def last_promotion(root: Path, tracking_uri: str | None, default_model: str | None,
                   default_alias: str = DEFAULT_ALIAS) -> dict[str, Any] | None:
    """{"tag", "commit", "date", "release", "preprod_run", "model": {name, version, alias, source, ...}}:
    the newest promotion tag, and the version the registry's alias names now (read over HTTP only;
    else the tag's record); None when neither is found. Origin's promotion tags are fetched first, at
    most every FETCH_EVERY seconds."""
    fetch_promotion_tags(root)
    tagged = _newest_tag(root)
    model, alias = tagged.pop("model", default_model), tagged.pop("alias", default_alias)
    version = tagged.pop("version", None)
    registered = None
    if model and tracking_uri and tracking_uri.startswith(("http://", "https://")):
        registered = _registered(tracking_uri, model, alias)
    if registered:
        tagged["model"] = {**registered, "source": "registry"}
    elif tagged and version:      # the registry does not answer: what the tag recorded
        tagged["model"] = {"name": model, "version": version, "alias": alias, "source": "git tag"}
    return tagged or None


def workspace_last_promotion(root: Path, services) -> dict[str, Any] | None:
    """last_promotion of a workspace: the registry of its pre-prod target's tracking server (where
    `expenv ci promote` registers), else of the workspace's; no registry without a valid config."""
    if services is None:
        return last_promotion(root, None, None)
    preprod = services.config.targets.get("preprod")
    uri = (preprod.tracking_uri if preprod else None) or services.tracking.uri()
    return last_promotion(root, uri, services.config.project.name)
