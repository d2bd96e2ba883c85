"""A process that has exited but is not reaped yet (a zombie) is not running: `expenv down` and
`cluster down` once waited their whole grace period on servers whose late-reaping init kept
their zombies."""

from __future__ import annotations

import subprocess
import sys
import time

from expenv.services.process_state import group_alive, pid_alive


def _zombie_state(pid: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            return state
        time.sleep(0.05)
    return state


def test_a_running_process_and_its_group_are_alive_and_a_zombie_is_not():
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert pid_alive(proc.pid) and group_alive(proc.pid)
        proc.stdin.close()   # it exits; nobody waits for it yet, so it stays a zombie
        assert _zombie_state(proc.pid) == "Z"
        assert not pid_alive(proc.pid) and not group_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert not pid_alive(proc.pid) and not group_alive(proc.pid)
