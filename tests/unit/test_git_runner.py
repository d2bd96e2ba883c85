"""The one git runner (services/repository/git.py): failures name the command, a missing git binary
and a hung git are results, not tracebacks."""

import subprocess

import pytest

from expenv.domain.errors import ExpenvError
from expenv.domain.pipelines import PipelineError
from expenv.services.repository import git


def test_output_of_a_repository_and_the_failure_names_the_command(tmp_path):
    subprocess.run(["git", "init", "-q", "-b", "feature/x", str(tmp_path)], check=True)
    assert git.output(tmp_path, "symbolic-ref", "--short", "HEAD") == "feature/x"
    with pytest.raises(PipelineError, match=r"git rev-parse --verify HEAD failed in .*"):
        git.output(tmp_path, "rev-parse", "--verify", "HEAD", error=PipelineError)


def test_outside_a_repository_is_a_returncode_and_an_expenv_error(tmp_path):
    assert git.run(tmp_path, "rev-parse", "--is-inside-work-tree").returncode != 0
    with pytest.raises(ExpenvError, match="not a git repository"):
        git.output(tmp_path, "status")


def test_missing_git_binary_is_returncode_127(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = git.run(tmp_path, "status")
    assert (result.returncode, result.stderr) == (127, "git is not installed")
    assert git.run(tmp_path, "status", text=False).stderr == b"git is not installed"
