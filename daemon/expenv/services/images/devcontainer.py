"""The devcontainer CLI (@devcontainers/cli, installed by `npm ci` in devcontainer/): up, exec, down."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expenv.services.images import context
from expenv.services.images.engine import ImageError


@dataclass(frozen=True)
class DevcontainerSession:
    """A running devcontainer of one workspace folder."""

    workspace: Path
    container_id: str
    remote_user: str
    remote_workspace_folder: str

    def as_dict(self) -> dict[str, Any]:
        return {"workspace": str(self.workspace), "container_id": self.container_id,
                "remote_user": self.remote_user, "remote_workspace_folder": self.remote_workspace_folder}


def cli() -> str:
    """The devcontainer executable: devcontainer/node_modules/.bin first, then PATH."""
    local = context.REPO / "devcontainer" / "node_modules" / ".bin" / "devcontainer"
    found = str(local) if local.exists() else shutil.which("devcontainer")
    if not found:
        raise ImageError("the devcontainer CLI is not installed; run `cd devcontainer && npm ci` "
                         "(or `make devcontainer-cli`)")
    return found


def up(workspace: Path, *extra: str, timeout: float = 1800) -> DevcontainerSession:
    """`devcontainer up --workspace-folder WORKSPACE`: build the image if needed, start the container."""
    workspace = Path(workspace).resolve()
    result = subprocess.run([cli(), "up", "--workspace-folder", str(workspace), *extra],
                            capture_output=True, text=True, timeout=timeout)
    outcome = _last_json(result.stdout)
    if result.returncode != 0 or outcome.get("outcome") != "success":
        message = outcome.get("message") or "devcontainer up failed"
        description = outcome.get("description") or ""
        raise ImageError(f"{message} {description}".strip() + "\n" + result.stderr.strip()[-3000:])
    return DevcontainerSession(workspace, outcome["containerId"], outcome.get("remoteUser", ""),
                               outcome.get("remoteWorkspaceFolder", ""))


def exec_command(workspace: Path, *command: str) -> list[str]:
    """The argv that runs `command` in the workspace's devcontainer as its remote user."""
    return [cli(), "exec", "--workspace-folder", str(Path(workspace).resolve()), *command]


def run(workspace: Path, *command: str, timeout: float = 600, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(exec_command(workspace, *command), capture_output=True, text=True, timeout=timeout,
                          input=input)


def containers(workspace: Path) -> list[str]:
    """Ids of the devcontainers (running or not) of one workspace folder."""
    result = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=devcontainer.local_folder={Path(workspace).resolve()}"],
                            capture_output=True, text=True, env=os.environ)
    return result.stdout.split()


def down(workspace: Path) -> list[str]:
    """Remove the workspace's devcontainers (the CLI has no `down`)."""
    ids = containers(workspace)
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, text=True)
    return ids


def load_jsonc(text: str) -> Any:
    """JSON with comments and trailing commas (devcontainer.json), comments stripped outside strings."""
    out, i, n, in_string = [], 0, len(text), False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\":
                out.append(text[i + 1:i + 2])
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        else:
            out.append(ch)
        i += 1
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", "".join(out)))


def _last_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}
