"""A Docker engine of the test's own, stopped and started for real: Debian's `dockerd` with its own
data-root, exec-root (and so its own containerd), pidfile and unix socket in a private folder,
reached as a user with a rootless or non-default engine reaches theirs, through
`DOCKER_HOST=unix://<socket>`. Its default bridge is an interface of its own, and it touches no
iptables (containers use the host's network, as expenv's steps do), so the host engine, and the
other tests' containers on it, are never touched. (`--bridge=none` is not that: a dockerd told so
deletes `docker0`, the host engine's bridge, since both share this network namespace.)

It has no images and cannot pull: `load(tag)` copies an image from the host engine
(`docker save | docker load`, the same image id), into a data-root held in memory (tmpfs)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

START_SECONDS = 120
STOP_SECONDS = 120
DATA_ROOT_SIZE = "6g"   # the production image takes 1.5 GB of it; tmpfs pages are only used when written


class PrivateEngine:
    def __init__(self, folder: Path):
        self.folder = folder
        self.socket = folder / "docker.sock"
        self.data_root, self.exec_root = folder / "data", folder / "exec"
        self.pidfile, self.log = folder / "dockerd.pid", folder / "dockerd.log"
        self.bridge = f"expenv-pe{uuid.uuid4().hex[:6]}"   # a link name has at most 15 characters
        self._proc: subprocess.Popen | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.docker_host, timeout=120)

    def start(self) -> None:
        """Start dockerd (on the same data-root each time) and wait until it answers; fail, with the
        end of its log, when it does not."""
        assert self._proc is None or self._proc.poll() is not None, "the private engine already runs"
        if not self.data_root.exists():
            self._mount_data_root()
        config = self.folder / "daemon.json"
        config.write_text(json.dumps({}))   # not the host engine's /etc/docker/daemon.json
        command = ["dockerd", "--config-file", str(config), "--data-root", str(self.data_root),
                   "--exec-root", str(self.exec_root), "--pidfile", str(self.pidfile), "-H", self.docker_host,
                   f"--bridge={self.bridge}", "--iptables=false", "--ip-masq=false", "--log-level=info"]
        if subprocess.run(["ip", "link", "show", self.bridge], capture_output=True).returncode != 0:
            made = subprocess.run(["ip", "link", "add", "name", self.bridge, "type", "bridge"], capture_output=True,
                                  text=True)
            assert made.returncode == 0, f"cannot create the private engine's bridge {self.bridge}: {made.stderr}"
        host_bridge = _link_index("docker0")   # the host engine's bridge, left as it is
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        deadline = time.monotonic() + START_SECONDS
        while not self.answers():
            assert self._proc.poll() is None, f"the private dockerd exited ({self._proc.returncode}):\n{self.tail()}"
            assert time.monotonic() < deadline, f"the private dockerd did not answer in {START_SECONDS} s:\n{self.tail()}"
            time.sleep(0.2)
        assert _link_index("docker0") == host_bridge, "the private dockerd removed the host engine's docker0"

    def _mount_data_root(self) -> None:
        """The data-root in memory (it outlives each dockerd, not the folder): loading the image there
        takes about half as long as on disk, and removing it is an unmount, where deleting its files
        from disk took 25-40 s."""
        self.data_root.mkdir(mode=0o700)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DATA_ROOT_SIZE},mode=0700", "expenv-privengine",
                                  str(self.data_root)], capture_output=True, text=True)
        assert mounted.returncode == 0, f"cannot mount a tmpfs for the private engine's data-root: {mounted.stderr}"

    def answers(self) -> bool:
        import socket

        if not self.socket.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            try:
                sock.connect(str(self.socket))
                sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                return b" 200 " in sock.recv(64).split(b"\r\n", 1)[0]
            except OSError:
                return False

    def stop(self, once_unreachable: Callable[[], None] | None = None) -> None:
        """SIGTERM dockerd, as a service manager stops it: its API closes first (the socket goes),
        then it stops its containers and its containerd and exits. `once_unreachable` runs between
        the two (the engine no longer answers, its containers are still there)."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self.socket.exists() and proc.poll() is None:
            assert time.monotonic() < deadline, f"the private dockerd kept its socket after SIGTERM:\n{self.tail()}"
            time.sleep(0.05)
        if once_unreachable is not None:
            once_unreachable()
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the private dockerd did not stop in {STOP_SECONDS} s:\n{self.tail()}") from None

    def load(self, image: str) -> None:
        """Copy `image` from the host engine (same id and tag): `docker save | docker load`."""
        host_env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE, env=host_env)
        try:
            loaded = subprocess.run(["docker", "-H", self.docker_host, "load", "-q"], stdin=save.stdout,
                                    capture_output=True, text=True, timeout=900)
        finally:
            save.stdout.close()
            saved = save.wait(timeout=900)
        assert saved == 0 and loaded.returncode == 0, f"docker save | load of {image} failed: {loaded.stderr}"

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def destroy(self) -> None:
        """Stop it however it is (SIGKILL when SIGTERM is not enough), end what it started (its
        containerd and container shims, found by this engine's folder in their command line) and
        remove its folders, mounts included."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        for pid in self._own_processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for mount in reversed(self._own_mounts()):
            subprocess.run(["umount", "-l", mount], capture_output=True)
        # what is left on disk (its log, exec-root, socket); never across a mount that would not go
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.folder)], capture_output=True, timeout=600)

    def _own_processes(self) -> list[int]:
        marker = str(self.exec_root).encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if marker in (entry / "cmdline").read_bytes():
                        pids.append(int(entry.name))
        return pids

    def _own_mounts(self) -> list[str]:
        with open("/proc/self/mounts") as mounts:
            points = [line.split()[1] for line in mounts]
        return [p for p in points if p.startswith(str(self.folder) + "/")]


def _link_index(name: str) -> str | None:
    """The index of network interface NAME (a deleted and re-made one has a new index), or None."""
    with contextlib.suppress(OSError):
        return Path(f"/sys/class/net/{name}/ifindex").read_text().strip()
    return None
