"""Whether a process (or a process group) still runs, not counting zombies.

A server or cluster that expenv started outlives the CLI process that started it, so its parent
becomes the machine's init. Some inits (a container's, a microVM's) reap late: the process has
exited but `kill(pid, 0)` still succeeds on its zombie, and a `stop` waited out its whole grace
period for a process that had long finished."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# expenv's local background compute (a local cluster's processes, a local pipeline's driver and
# steps) runs at this niceness: on a busy machine the editor, its daemon and the notebook kernels
# come first (a burst of hovers stayed slow while a pipeline step held a core and a cluster
# started); on an idle one it runs as fast as ever. EXPENV_BACKGROUND_NICE=0 turns it off.
BACKGROUND_NICE_ENV = "EXPENV_BACKGROUND_NICE"
BACKGROUND_NICE = 10


def background(argv: list[str]) -> list[str]:
    """`argv` run through `nice` at expenv's background priority (the same pid: nice execs it)."""
    try:
        level = int(os.environ.get(BACKGROUND_NICE_ENV, BACKGROUND_NICE))
    except ValueError:
        level = BACKGROUND_NICE
    nice = shutil.which("nice") if level > 0 else None
    return [nice, "-n", str(min(level, 19)), *argv] if nice else list(argv)


def _state(pid: int) -> str | None:
    """The one-letter state of /proc/PID/stat (None when it cannot be read)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) != "Z"


def group_alive(pgid: int) -> bool:
    """Whether any member of the process group is alive and not a zombie."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not Path("/proc").is_dir():
        return True
    return any(group == pgid for group, _session in _live_members())


def session_groups(sid: int) -> set[int]:
    """The process groups of the session's live members (an engine may put each of its workers in
    a group of its own, as Ray's raylet does): stopping the session's group alone leaves them."""
    return {group for group, session in _live_members() if session == sid}


def _live_members() -> list[tuple[int, int]]:
    """(process group, session) of every process of /proc that is not a zombie."""
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                found.append((int(fields[2]), int(fields[3])))
        except (OSError, IndexError, ValueError):
            continue
    return found
