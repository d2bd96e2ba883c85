"""The one way expenv runs git: `git -C ROOT ARGS` with captured output, a time limit, and a clear
error when git is missing or a command fails. Pipelines (pinning code), CI (plans, promotion tags)
and the notebook checks all go through here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from expenv.domain.errors import ExpenvError

TIMEOUT_SECONDS = 120


def run(root: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = TIMEOUT_SECONDS, text: bool = True) -> subprocess.CompletedProcess:
    """`git -C root args`, never raising for git's own failures: the caller reads returncode.
    A missing git binary or a hung command is a returncode of 127 / 124 with the reason in stderr."""
    command = ["git", "-C", str(root), *args]
    empty = "" if text else b""
    try:
        return subprocess.run(command, capture_output=True, text=text, timeout=timeout,
                              env={**os.environ, **env} if env else None)
    except FileNotFoundError:
        return subprocess.CompletedProcess(command, 127, empty, _as(text, "git is not installed"))
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 124, empty,
                                           _as(text, f"git {args[0] if args else ''} took over {timeout:.0f} s"))


def output(root: Path, *args: str, error: type[ExpenvError] = ExpenvError,
           timeout: float = TIMEOUT_SECONDS) -> str:
    """The stripped stdout of `git -C root args`; a failure raises `error` naming the command."""
    result = run(root, *args, timeout=timeout)
    if result.returncode != 0:
        raise error(f"git {' '.join(args)} failed in {root}: {result.stderr.strip()[:500]}")
    return result.stdout.strip()


def _as(text: bool, message: str) -> str | bytes:
    return message if text else message.encode()
