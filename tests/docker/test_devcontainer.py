"""The devcontainer with the real devcontainer CLI: devcontainer.json is valid, `devcontainer up`
starts the production image plus tools, and the daemon inside speaks LSP over `devcontainer exec`."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.docker.conftest import PROD_TAG, REPO, dc_exec, dc_python
from tests.lsp.jsonrpc_client import RawLspClient

# The first test of a session may build the base and production images (minutes on a cold machine).
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]


def _config() -> dict:
    from expenv.services.images.devcontainer import load_jsonc

    return load_jsonc((REPO / "devcontainer/devcontainer.json").read_text())


def test_devcontainer_json_is_a_plain_build_without_features():
    config = _config()
    assert "features" not in config, "features need a registry that may be unreachable"
    assert config["build"]["dockerfile"] == "Dockerfile"
    assert (REPO / "devcontainer" / config["build"]["context"] / "Dockerfile").is_file()
    assert config["build"]["args"]["PRODUCTION_IMAGE"]
    assert config["containerEnv"]["LOCAL_WORKSPACE_FOLDER"] == "${localWorkspaceFolder}"
    assert any("target=/var/run/docker.sock" in m for m in config["mounts"])
    assert config["remoteUser"] == "app"
    extension = json.loads((REPO / "vscode-extension/package.json").read_text())
    vscode = config["customizations"]["vscode"]
    assert f"{extension['publisher']}.{extension['name']}" in vscode["extensions"]
    assert vscode["settings"]["expenv.pythonPath"] == "/opt/venv/bin/python"
    dockerfile = (REPO / "devcontainer/Dockerfile").read_text()
    assert "FROM ${PRODUCTION_IMAGE}" in dockerfile


def test_the_devcontainer_cli_reads_the_rendered_config(devcontainer_cli, example_project, production_image):
    from expenv.services.images import prepare_devcontainer

    prepare_devcontainer(example_project / ".devcontainer", PROD_TAG)
    result = subprocess.run([devcontainer_cli, "read-configuration", "--workspace-folder", str(example_project)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)["configuration"]
    assert config["build"]["args"]["PRODUCTION_IMAGE"] == PROD_TAG
    assert config["containerEnv"]["LOCAL_WORKSPACE_FOLDER"] == str(example_project)


def test_devcontainer_up_runs_the_production_python_as_the_dev_user(devcontainer, example_project):
    assert devcontainer.remote_user == "app"
    folder = devcontainer.remote_workspace_folder
    facts = json.loads(dc_python(example_project, (
        "import json, os, sys, getpass, sklearn, pandas, docker; "
        "print(json.dumps({'python': sys.executable, 'user': getpass.getuser(), 'cwd': os.getcwd(), "
        "'host_folder': os.environ.get('LOCAL_WORKSPACE_FOLDER'), 'config': os.path.isfile('expenv.toml'), "
        "'engine': docker.from_env().ping()}))")))
    assert facts == {"python": "/opt/venv/bin/python", "user": "app", "cwd": folder,
                     "host_folder": str(example_project), "config": True, "engine": True}
    assert dc_exec(example_project, "git", "--version").stdout.startswith("git version")
    spec = json.loads(dc_exec(example_project, "jupyter", "kernelspec", "list", "--json").stdout)["kernelspecs"]
    assert spec["expenv-production"]["spec"]["argv"][0] == "/opt/venv/bin/python"


def test_the_devcontainer_trusts_the_hosts_extra_ca_certificates(devcontainer, example_project):
    """Behind a TLS-intercepting proxy, pip and git in the devcontainer must trust its CA."""
    from expenv.services.images.context import extra_ca_certificates

    bundle = dc_exec(example_project, "cat", "/etc/ssl/certs/ca-certificates.crt").stdout
    for cert in extra_ca_certificates():
        body = "".join(cert.read_text().split("-----")[2].split())
        assert body in "".join(bundle.split()), f"{cert} is not trusted in the devcontainer"
    env = dc_exec(example_project, "env").stdout
    assert "PIP_CERT=/etc/ssl/certs/ca-certificates.crt" in env


def test_the_dev_tools_replaced_no_production_package(devcontainer, example_project):
    from expenv.services.images import run_python

    listing = "import json, re, importlib.metadata as m; print(json.dumps({re.sub('[-_.]+', '-', " \
              "d.metadata['Name']).lower(): d.version for d in m.distributions()}))"
    production = json.loads(run_python(PROD_TAG, listing))
    dev = json.loads(dc_python(example_project, listing))
    changed = {name: (version, dev.get(name)) for name, version in production.items() if dev.get(name) != version}
    assert changed == {}
    # the example's production requirements carry ipykernel (its notebook pipeline step runs under
    # papermill), so only what the production image lacks is the dev layer's addition
    assert "expenv" in set(dev) - set(production)
    assert {"ipykernel", "jupyter-client"} <= set(dev)


def test_the_daemon_in_the_devcontainer_speaks_lsp_over_devcontainer_exec(devcontainer, example_project):
    from expenv.services.images import devcontainer as dc

    folder = devcontainer.remote_workspace_folder
    uri = f"file://{folder}"
    client = RawLspClient(dc.exec_command(example_project, "python", "-m", "expenv", "serve"))
    try:
        init = client.request("initialize", {"processId": None, "rootUri": uri, "capabilities": {},
                                             "workspaceFolders": [{"uri": uri, "name": "churn"}]})
        commands = init["result"]["capabilities"]["executeCommandProvider"]["commands"]
        assert "expenv.environment.parity" in commands, \
            "register expenv.lsp.features.environment_commands in lsp/features/__init__.py"
        client.notify("initialized", {})
        status = client.request("workspace/executeCommand", {"command": "expenv.status", "arguments": [{}]})["result"]
        assert status["parts"]["docker"]["ok"] is True, status["parts"]["docker"]
        assert status["runtime"] == {"python": "/opt/venv/bin/python", "container": True, "production_image": PROD_TAG}
        assert f"in the devcontainer of {PROD_TAG}" in status["summary"]
        (ws,) = status["workspaces"]
        assert ws["root"] == folder and ws["config"]["environment"]["production_image"] == PROD_TAG
        parity = client.request("workspace/executeCommand",
                                {"command": "expenv.environment.parity", "arguments": [{}]})["result"]
        assert parity["image"] == PROD_TAG and parity["kernel_python"] == "/opt/venv/bin/python"
        assert parity["python"] is None and parity["os_drift"] == [] and parity["version_drift"] == []
        assert "expenv" in parity["dev_tools"]
        assert client.finish() == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
