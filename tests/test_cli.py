"""The `expenv` CLI: `--json` has the LSP command's shape, errors are clear, exit codes mean something."""

from __future__ import annotations

import json
import subprocess
import sys


EXPENV = [sys.executable, "-m", "expenv"]


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*EXPENV, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_version():
    assert run("--version").stdout.strip() == "0.1.0"


def test_status_json_finds_the_config_from_a_subfolder(make_workspace):
    root = make_workspace()
    (root / "notebooks").mkdir()
    result = run("status", "--json", cwd=root / "notebooks")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["workspaces"][0]["root"] == str(root.resolve())
    assert report["workspaces"][0]["config"]["project"]["name"] == "churn"
    assert "s3cret-pw" not in result.stdout


def test_status_json_has_the_same_keys_as_the_lsp_command(make_workspace):
    # the LSP end-to-end tests assert the same structure for expenv.status
    report = json.loads(run("status", "--json", "-w", str(make_workspace())).stdout)
    assert set(report) == {"version", "runtime", "summary", "workspaces", "parts"}
    assert report["runtime"]["python"] == sys.executable and report["runtime"]["production_image"] is None
    assert report["summary"].startswith(f"expenv 0.1.0 on {sys.executable} ")
    assert "; 1 workspace; " in report["summary"]
    assert set(report["workspaces"][0]) == {"root", "config_file", "config", "problems", "parts", "tracking_uri",
                                          "clusters", "stage", "last_promotion"}


def test_status_shows_config_problems_with_location(make_workspace):
    root = make_workspace(config='[project]\nname = "x"\n[features]\nrepo = ["a"]\n')
    result = run("status", "-w", str(root))
    assert "expenv.toml:4:1: error: features.repo must be a string, not a list" in result.stdout


def test_doctor_reports_missing_parts_with_fixes_and_fails(make_workspace):
    root = make_workspace(config='[project]\nname = "x"\n[features]\nrepo = "features"\n')
    result = run("doctor", "--json", "-w", str(root))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    missing = {m["name"]: m for m in report["missing"]}
    assert "mlflow" in missing and "expenv up" in missing["mlflow"]["fix"]
    assert "feast" in missing and "feature_store.yaml" in missing["feast"]["detail"]
    assert report["parts"]["python:mlflow"]["ok"] is True  # the engines extra is installed


def test_doctor_on_a_broken_config_names_the_line(make_workspace):
    root = make_workspace(config='[project]\nname = 1\n')
    result = run("doctor", "-w", str(root))
    assert result.returncode == 1
    assert "expenv.toml:2:1: project.name must be a string" in result.stderr


def test_up_without_config_fails_clearly(tmp_path):
    result = run("up", "-w", str(tmp_path))
    assert result.returncode == 2
    assert "no valid expenv.toml" in result.stderr


def test_example_create_with_too_few_rows_is_a_clear_error_and_writes_nothing(tmp_path):
    result = run("example", "create", str(tmp_path / "tiny"), "--rows", "500")
    assert result.returncode == 2
    assert "rows must be at least 1000, not 500" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "tiny").exists()
