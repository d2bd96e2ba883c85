"""An editor that goes away (sends `exit`, or just closes the pipe) is not kept waiting by work the
daemon still runs in the background: the process is gone at once, not after that work ends."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.hardening.framed_pipe import FramedPipe

CONFIG = '[project]\nname = "busy"\n\n[features]\nrepo = "features"\n'


def _exited(pipe: FramedPipe, timeout: float) -> int | None:
    """The exit code once the process is gone, polled up to `timeout` (None if it is still there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (code := pipe.proc.poll()) is not None:
            return code
        time.sleep(0.1)
    return None


@pytest.mark.parametrize("leaving", ["shutdown_and_exit", "pipe_closed"])
def test_the_daemon_is_gone_while_its_feature_repo_check_still_runs(make_workspace, leaving):
    root = make_workspace("busy", CONFIG)
    (root / "features").mkdir()
    # the real daemon, whose feature-repo check blocks forever in a worker thread
    pipe = FramedPipe([sys.executable, str(REPO / "tests" / "servers" / "busy_repo_server.py")], cwd=str(REPO))
    try:
        pipe.request(1, "initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                                       "workspaceFolders": [{"uri": root.as_uri(), "name": "busy"}]})
        pipe.wait_responses([1], 60)
        pipe.notify("initialized", {})
        pipe.wait_for(lambda: b"feature repo check started" in pipe.stderr, 60, "the repo check running")
        if leaving == "shutdown_and_exit":
            pipe.request(2, "shutdown")
            pipe.wait_responses([2], 60)
            pipe.notify("exit")
        else:
            pipe.proc.stdin.close()
        # the check never ends: a daemon that waited for it would still be running at the deadline
        assert _exited(pipe, 60) == 0, pipe.stderr_tail()
    finally:
        if pipe.proc.poll() is None:
            pipe.proc.kill()
            pipe.proc.wait()
