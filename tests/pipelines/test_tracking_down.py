"""A submission that would lose its tracking says so and stops (no engine needed: local target)."""

from __future__ import annotations

import subprocess

from tests.pipelines.conftest import expenv

CONFIG = """[project]
name = "t"

[tracking]
uri = "http://127.0.0.1:9"

[targets.here]
backend = "local"

[pipelines.p.steps.s]
python = "s.py"
"""


def test_a_tracking_server_that_does_not_answer_stops_the_submission(tmp_path):
    (tmp_path / "expenv.toml").write_text(CONFIG)
    (tmp_path / "s.py").write_text("print('hi')\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True)
    result = expenv(tmp_path, "pipeline", "submit", "p", "--target", "here")
    assert result.returncode == 1
    assert "MLflow at http://127.0.0.1:9 does not answer" in " ".join(result.stderr.split())
    assert expenv(tmp_path, "pipeline", "ls", "--json").stdout.count('"id"') == 0


def test_a_cluster_target_with_a_loopback_tracking_server_is_refused(tmp_path):
    config = CONFIG.replace('uri = "http://127.0.0.1:9"', 'uri = "http://127.0.0.1:5000"') + (
        '\n[targets.cluster]\nbackend = "kubernetes"\nproduction_like = false\n'
        '[environment]\nproduction_image = "churn-prod:latest"\n')
    (tmp_path / "expenv.toml").write_text(config)
    (tmp_path / "s.py").write_text("print('hi')\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True)
    result = expenv(tmp_path, "pipeline", "submit", "p", "--target", "cluster")
    assert result.returncode == 1
    assert "cannot reach the tracking server http://127.0.0.1:5000" in " ".join(result.stderr.split())
    assert not any((tmp_path / ".expenv" / "pipelines").glob("*"))   # nothing left of the refused run
