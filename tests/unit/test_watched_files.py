"""What a workspace depends on (services.watched_files), the poller that watches it for clients
that cannot (services.file_poller), and the watchers sent to clients that can (lsp.watching)."""

from __future__ import annotations

import os
import subprocess

from lsprotocol.converters import get_converter

from expenv.services.config import parse_config
from expenv.services.file_poller import CHANGED, CREATED, DELETED, FilePoller
from expenv.services.watched_files import (
    CONFIG,
    FEATURE_REPO,
    GIT_HEAD,
    PIPELINES,
    REQUIREMENTS,
    WatchSpec,
    kinds_changed,
    workspace_watches,
)

CONFIG_TEXT = """\
[project]
name = "churn"

[environment]
requirements = "docker/requirements.txt"

[features]
repo = "features"

[policy]
pipeline_paths = ["pipelines", "jobs/score.py"]
"""


def _workspace(tmp_path, registry="registry: store/registry.db\n"):
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "feature_store.yaml").write_text("project: churn\nprovider: local\n" + registry)
    config, problems = parse_config(CONFIG_TEXT, tmp_path)
    assert config is not None, problems
    return config


def test_each_dependency_change_means_what_it_changes(tmp_path):
    config = _workspace(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    specs = workspace_watches(tmp_path, config)
    root = tmp_path.resolve()
    cases = {
        root / "expenv.toml": {CONFIG},
        root / "features" / "feature_store.yaml": {FEATURE_REPO},
        root / "features" / "views" / "profile.py": {FEATURE_REPO},
        root / "features" / "store" / "registry.db": {FEATURE_REPO},
        root / "docker" / "requirements.txt": {REQUIREMENTS},
        root / "pipelines" / "steps" / "train.py": {PIPELINES},
        root / "jobs" / "score.py": {PIPELINES},
        root / ".git" / "HEAD": {GIT_HEAD},
        root / "jobs" / "other.py": set(),
        root / "data" / "raw" / "x.parquet": set(),
    }
    assert {path: kinds_changed(specs, [path]) for path in cases} == cases


def test_the_registry_is_where_feature_store_yaml_says_or_feasts_default(tmp_path):
    config = _workspace(tmp_path, registry="")
    registry = [s for s in workspace_watches(tmp_path, config) if s.pattern == "registry.db"]
    assert [s.base for s in registry] == [(tmp_path / "features" / "data").resolve()]


def test_a_sql_registry_has_no_file_to_watch(tmp_path):
    config = _workspace(tmp_path, registry="registry:\n  registry_type: sql\n  path: postgresql://db/feast\n")
    assert not any(s.pattern.endswith(".db") for s in workspace_watches(tmp_path, config))


def test_a_git_worktree_head_is_found_through_its_dot_git_file(tmp_path):
    main, tree = tmp_path / "main", tmp_path / "tree"
    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", str(main)], check=True)
    subprocess.run([*git, "-C", str(main), "commit", "-q", "--allow-empty", "-m", "init"], check=True)
    subprocess.run([*git, "-C", str(main), "worktree", "add", "-q", str(tree), "-b", "other"], check=True)
    config, _ = parse_config('[project]\nname = "x"\n', tree)
    [head] = [s for s in workspace_watches(tree, config) if s.kind == GIT_HEAD]
    assert (head.base / head.pattern).read_text().strip() == "ref: refs/heads/other"


def test_without_a_config_only_the_config_file_is_watched(tmp_path):
    assert {s.kind for s in workspace_watches(tmp_path, None)} == {CONFIG}


def test_the_poller_reports_what_was_created_changed_and_deleted_since_it_started_watching(tmp_path):
    (tmp_path / "repo").mkdir()
    kept, gone = tmp_path / "repo" / "a.py", tmp_path / "repo" / "b.py"
    kept.write_text("a = 1\n")
    gone.write_text("b = 1\n")
    poller = FilePoller(on_change=lambda changes: None)
    poller.watch([WatchSpec(tmp_path / "repo", "**/*.py", FEATURE_REPO)])
    new = tmp_path / "repo" / "sub" / "c.py"
    new.parent.mkdir()
    new.write_text("c = 1\n")
    kept.write_text("a = 22\n")
    gone.unlink()
    (tmp_path / "repo" / "notes.txt").write_text("not watched\n")
    assert poller.scan() == sorted([(kept, CHANGED), (gone, DELETED), (new, CREATED)])
    assert poller.scan() == []


def test_an_atomic_replace_with_the_same_size_and_mtime_is_a_change(tmp_path):
    path = tmp_path / "registry.db"
    path.write_bytes(b"one")
    poller = FilePoller(on_change=lambda changes: None)
    poller.watch([WatchSpec(tmp_path, "registry.db", FEATURE_REPO)])
    stat = path.stat()
    (tmp_path / "tmp").write_bytes(b"two")
    os.utime(tmp_path / "tmp", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(tmp_path / "tmp", path)  # as feast apply and git write their files
    assert poller.scan() == [(path, CHANGED)]


def test_watchers_converter_snapshot(tmp_path):
    from expenv.lsp.watching import watchers_for

    specs = [WatchSpec(tmp_path, "**/expenv.toml", CONFIG, polled=False),
             WatchSpec(tmp_path, "expenv.toml", CONFIG, registered=False),
             WatchSpec(tmp_path / "features", "**/*.py", FEATURE_REPO)]
    root = tmp_path.as_posix()
    converter = get_converter()
    assert [converter.unstructure(w) for w in watchers_for(specs, relative_patterns=False)] == [
        {"globPattern": f"{root}/**/expenv.toml", "kind": 7}, {"globPattern": f"{root}/features/**/*.py", "kind": 7}]
    assert [converter.unstructure(w) for w in watchers_for(specs, relative_patterns=True)] == [
        {"globPattern": {"baseUri": tmp_path.as_uri(), "pattern": "**/expenv.toml"}, "kind": 7},
        {"globPattern": {"baseUri": (tmp_path / "features").as_uri(), "pattern": "**/*.py"}, "kind": 7}]
