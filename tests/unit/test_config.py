"""The config loader on good and bad `expenv.toml` files: every problem is located."""

from __future__ import annotations

from pathlib import Path

import pytest

from expenv.domain.config import ConfigError, Severity
from expenv.services.config import load_config, parse_config
from tests.conftest import GOOD_CONFIG


def problems(text: str):
    config, found = parse_config(text, Path("/ws"))
    return config, [(p.severity, p.line, p.column, p.message) for p in found]


def test_good_config_parses_every_section(make_workspace):
    config = load_config(make_workspace())
    assert config.project.name == "churn"
    assert config.environment.production_image == "churn-prod:latest"
    assert config.raw.roots == ("data/raw",)
    assert config.features.repo == "features"
    assert config.clusters["dask-local"].kind == "dask"
    assert config.clusters["dask-local"].workers == 2
    assert config.targets["preprod"].namespace == "ml-preprod"
    assert config.policy.feature_store_required == ("release/*", "main")
    assert config.policy.pipeline_paths == ("pipelines",)
    assert config.tracking.uri is None
    assert config.warnings == ()


def test_project_name_defaults_to_folder_name(tmp_path):
    (tmp_path / "expenv.toml").write_text("")
    assert load_config(tmp_path).project.name == tmp_path.name


def test_syntax_error_is_located():
    config, found = problems('[project]\nname = "x"\nbroken = \n')
    assert config is None
    assert found[0][0] is Severity.ERROR and found[0][1] == 3
    assert "TOML syntax error" in found[0][3]


def test_unclosed_table_header_is_located():
    _, found = problems('[project]\nname = "x"\n[data.raw\n')
    assert found[0][1:3] == (3, 10)


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ('[project]\nname = 3\n', 2, "project.name must be a string, not an integer"),
        ('[data.raw]\nroots = "data/raw"\n', 2, "data.raw.roots must be a list of strings, not a string"),
        ('[data.raw]\nroots = ["a", 3]\n', 2, "data.raw.roots must be a list of non-empty strings"),
        ('[clusters.c]\nkind = "dask"\nworkers = 0\n', 3, "clusters.c.workers must be at least 1"),
        ('[clusters.c]\nkind = "dask"\nworkers = true\n', 3, "must be an integer, not a boolean"),
        ('[clusters.c]\nkind = "hadoop"\n', 2, "must be one of 'dask', 'spark', 'ray'"),
        ('[clusters.c]\nbackend = "local"\n', 1, "[clusters.c] needs kind"),
        ('[targets.t]\nbackend = "ssh"\n', 2, "targets.t.backend must be one of"),
        ('[targets.t]\nbackend = "docker"\nproduction_like = "yes"\n', 3, "must be true or false, not a string"),
        ('tracking = "http://x"\n', 1, "[tracking] must be a table"),
        ('[project]\nname = "  "\n', 2, "project.name must not be empty"),
        ('[targets.t]\nbackend = "kubernetes"\napi_timeout = 0\n', 3, "targets.t.api_timeout must be more than 0"),
        ('[clusters.c]\nkind = "dask"\napi_timeout = "5s"\n', 3, "api_timeout must be a number of seconds"),
    ],
)
def test_wrong_types_are_errors_on_their_line(text, line, needle):
    config, found = problems(text)
    assert config is None
    errors = [f for f in found if f[0] is Severity.ERROR]
    assert errors, found
    assert errors[0][1] == line
    assert needle in errors[0][3]


def test_unknown_keys_are_warnings_with_a_suggestion_and_config_still_loads():
    config, found = problems('[project]\nname = "x"\nnmae = "y"\n[trackng]\nuri = "http://x"\n')
    assert config is not None and config.project.name == "x"
    assert (Severity.WARNING, 3, 1, "unknown key 'nmae' in project; did you mean 'name'?") in found
    assert any(f[1] == 4 and "did you mean 'tracking'" in f[3] for f in found)
    assert len(config.warnings) == 2


def test_plugin_backend_reference_is_accepted():
    config, found = problems('[clusters.c]\nkind = "dask"\nbackend = "acme.clusters:SlurmBackend"\n')
    assert config is not None, found
    assert config.clusters["c"].backend == "acme.clusters:SlurmBackend"


def test_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="expenv example create"):
        load_config(tmp_path)


def test_load_raises_located_config_error(make_workspace):
    root = make_workspace(config='[project]\nname = "a"\n[features]\nrepo = 5\n')
    with pytest.raises(ConfigError) as info:
        load_config(root)
    assert str(info.value).endswith("expenv.toml:4:1: features.repo must be a string, not an integer")


def test_non_utf8_file_is_a_config_error(tmp_path):
    (tmp_path / "expenv.toml").write_bytes(b'[project]\nname = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(tmp_path)


def test_good_config_constant_has_no_problems():
    assert parse_config(GOOD_CONFIG, Path("/ws"))[1] == []
