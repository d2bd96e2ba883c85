"""Every CLI command, found in the typer app (groups included, so commands added later are swept
too), run with `--json` against the canary workspace: the canary must not show in stdout, stderr
or a traceback. Commands run in-process (typer's CliRunner) with the planted environment."""

from __future__ import annotations

import json
import traceback

import pytest

from tests.security.conftest import CANARY, leaks

# Sensible arguments per command (several calls for some: a good input and a failing one). `-w`
# and `--json` are added wherever the command takes them. A command missing here is still run,
# with no arguments, and its (error) output swept.
ARGS: dict[str, list[list[str]]] = {
    "status": [[]],
    "doctor": [[]],
    "up": [[]],
    "check": [[]],
    "parity": [[]],
    "example create": [["{tmp}/example-copy", "--rows", "100"]],
    "new": [["{tmp}/new-repo", "--defaults", "--no-setup", "--data", "project_name=canary"]],
    "data ls": [[], ["--layer", "curated"], ["--layer", "raw"]],
    "data schema": [["data/raw/customers.parquet"], ["curated.customers"], ["s3://lake/raw/x.parquet"],
                    ["s3://lake/raw/"]],
    "data preview": [["data/raw/customers.parquet", "--limit", "3"], ["curated.customers"],
                     ["s3://lake/raw/x.csv"]],
    "data profile": [["data/raw/payments.csv"], ["curated.customers"]],
    "runs ls": [[]],
    "runs show": [["{run_id}"], ["no-such-run"]],
    "runs compare": [["{run_id}", "{run_id}"]],
    "features ls": [[]],
    "features lineage": [[]],
    "features apply": [[]],  # shows `feast plan`, then is told no (apply would cost a minute more)
    "kernels ls": [[]],
    "kernels start": [[]],
    "kernels stop": [["no-such-kernel"]],
    "kernels restart": [["no-such-kernel"]],
    "kernels interrupt": [["no-such-kernel"]],
    "images build": [[]],
    "images devcontainer": [[]],
    "cluster up": [["dask-local"], ["no-such-profile"]],
    "cluster ls": [[]],
    "cluster attach": [["no-such-cluster"]],
    "cluster scale": [["no-such-cluster", "3"]],
    "cluster render": [["dask-local"], ["spark-docker"], ["dask-k8s"], ["spark-k8s"], ["ray-k8s"]],
    "cluster down": [["--all"]],
    "pipeline ls": [[]],
    "pipeline render": [["train", "--target", "preprod"], ["train", "--target", "dev"]],
    "pipeline submit": [["train", "--target", "dev"], ["train", "--target", "preprod"]],
    "pipeline status": [["no-such-run"]],
    "pipeline logs": [["no-such-run"]],
    "pipeline cancel": [["no-such-run"]],
    "pipeline rerun": [["no-such-run"]],
    "ci plan": [["--event", "pull_request", "--from", "feature/x", "--to", "release/1.0"], ["--event", "bogus"]],
    "ci run": [["--event", "push", "--to", "release/1.0"]],   # a push that runs nothing
    "ci comment": [["--pipeline", "train"]],
    "down": [[]],
}
# Not run in-process: `serve` is the daemon, swept over LSP by test_canary_lsp.py.
SWEPT_ELSEWHERE = {"serve"}


def cli_commands() -> dict[str, list[str]]:
    """Every leaf command of the CLI, "group sub" -> its parameter names."""
    import typer.main

    from expenv.cli.main import app

    found: dict[str, list[str]] = {}

    def walk(command, path: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found[" ".join(path)] = [p.name for p in command.params]

    walk(typer.main.get_command(app), [])
    return found


def invocations(workspace, tmp_path, run_id) -> list[tuple[str, list[str]]]:
    calls = []
    for name, params in cli_commands().items():
        if name in SWEPT_ELSEWHERE:
            continue
        for args in ARGS.get(name, [[]]):
            args = [a.format(tmp=tmp_path, run_id=run_id) for a in args]
            if "json_out" in params:
                args.append("--json")
            if "workspace" in params:
                args += ["-w", str(workspace)]
            calls.append((name, [*name.split(), *args]))
    # `down` stops what `up` started: keep those last.
    return sorted(calls, key=lambda c: c[0].endswith("down"))


def test_every_cli_command_keeps_the_planted_secrets_out_of_its_output(canary_workspace, canary_env,
                                                                        mlflow_server, tmp_path):
    from typer.testing import CliRunner

    from expenv.cli.main import app

    planted = {k: v for k, v in canary_env.items() if CANARY in v}
    runner = CliRunner(env=planted)
    found: dict[str, list[str]] = {}
    outputs: dict[str, str] = {}
    try:
        for name, argv in invocations(canary_workspace, tmp_path, mlflow_server[1]):
            result = runner.invoke(app, argv)
            text = result.stdout + result.stderr
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                text += "".join(traceback.format_exception(*result.exc_info))
            outputs[" ".join(argv)] = text
            if leaks(text):
                found[" ".join(argv)] = leaks(text)
    finally:
        runner.invoke(app, ["cluster", "down", "--all", "-w", str(canary_workspace)])
        listed = runner.invoke(app, ["kernels", "ls", "--json", "-w", str(canary_workspace)])
        for kernel in json.loads(listed.stdout or '{"kernels": []}')["kernels"]:
            runner.invoke(app, ["kernels", "stop", kernel["id"], "-w", str(canary_workspace)])
    assert not found, "the canary leaked:\n" + "\n".join(f"{cmd}:\n  " + "\n  ".join(w) for cmd, w in found.items())
    # The secrets were really in use: the runs came back through the credentialed tracking URI,
    # status shows that URI masked, and every command of the app was run.
    runs = json.loads(outputs[next(k for k in outputs if k.startswith("runs ls"))])
    assert [r["run_id"] for r in runs] == [mlflow_server[1]]
    assert "://expenv:***@" in runs[0]["url"] or "://127.0.0.1:" in runs[0]["url"]
    status = json.loads(outputs[next(k for k in outputs if k.startswith("status"))])
    assert status["workspaces"][0]["tracking_uri"].startswith("http://expenv:***@127.0.0.1:")
    assert status["workspaces"][0]["config"]["raw"]["storage_options"]["secret"] == "***"
    swept = {" ".join(k.split()[:2]) for k in outputs} | {k.split()[0] for k in outputs}
    assert set(cli_commands()) - SWEPT_ELSEWHERE <= swept


@pytest.mark.parametrize("name", sorted(ARGS))
def test_the_argument_table_names_only_real_commands(name):
    assert name in cli_commands()
