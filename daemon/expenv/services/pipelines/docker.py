"""The `docker` backend's steps: each a container of the production image on the local engine.

The pinned code is never bind-mounted (a daemon inside the devcontainer talking to the host's
engine through its socket submits the same way): it is streamed to the started container's stdin,
where the image's own Python unpacks it at /tmp/workspace and then runs the step there (BOOT). As
the step's user unpacks it, the files are that user's; and the engine does no archive work (a
put_archive mounts the container's filesystem and runs a helper process: a tenth of a second per
step). Host networking lets a step reach the loopback MLflow server; the image's non-root user runs
it (uid 1000 when the image would run as root), with the step's cpu/memory limits, no capabilities
and no new privileges."""

from __future__ import annotations

import io
import logging
import os
import re
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

from expenv.domain.pipelines import StepSpec
from expenv.services.pipelines.steps import notebook_output

# /tmp: a folder the step's user can create in any image (the engine would create a missing
# working directory owned by root); the kubernetes runner keeps its outputs under /tmp too.
WORKDIR = "/tmp/workspace"
OUT_DIR = f"{WORKDIR}/.expenv-outputs"
# Run by the image's Python before the step (`python -I -S -c BOOT WORKDIR OUT_DIR STEP-ARGV...`):
# read the step's environment (one JSON line) and the code archive from stdin, unpack it, then
# replace itself with the step. The container is created and started before the submission has
# its MLflow run ids (feed() sends them), and `docker inspect` shows none of that environment
# (tracking credentials included). A cut stream (the submitter died while sending) fails the step
# with the reason: it never runs half the code.
BOOT = """import json, os, sys, tarfile
work, out, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
stdin = sys.stdin.buffer
try:
    env = json.loads(stdin.readline() or b"null")
    if not isinstance(env, dict):
        raise ValueError("nothing was sent")
    os.makedirs(out, exist_ok=True)
    with tarfile.open(fileobj=stdin, mode="r|") as code:
        code.extractall(work, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
except Exception as exc:
    sys.exit("expenv: the step's code could not be unpacked in %s: %s" % (work, exc))
os.chdir(work)
os.execvpe(argv[0], argv, {**os.environ, **env})
"""
CODE_SEND_TIMEOUT = 300.0
FALLBACK_USER = (1000, 1000)
log = logging.getLogger(__name__)
ENGINE_LOST_SECONDS = 600   # a step whose engine stays away longer fails (a restart takes less)
_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
          "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4}


def memory_bytes(size: str) -> int:
    """"2Gi" / "512m" / "1g" / "1073741824" as bytes (Kubernetes and Docker spellings)."""
    match = re.match(r"^(\d+(?:\.\d+)?)\s*([kKmMgGtT]i?)?[bB]?$", size.strip())
    if not match:
        raise ValueError(f"not a memory size: {size!r}")
    return int(float(match[1]) * _UNITS[(match[2] or "").lower()])


# What a submitting process (the daemon) learnt of an image id (immutable: its content names it)
# and of the engine, so each submission does not ask again.
_IMAGE_FACTS: dict[str, dict[str, Any]] = {}
_CLIENTS: dict[str, Any] = {}


def engine():
    """The engine client this process keeps (it answered a ping once; a failed call drops it, see
    forget_engine), so a submission does not connect and ping again."""
    from expenv.services.images import docker_client

    host = os.environ.get("DOCKER_HOST", "")
    return _CLIENTS.get(host) or _CLIENTS.setdefault(host, docker_client())


def forget_engine() -> None:
    """The next engine() connects afresh (and says clearly when no engine answers)."""
    _CLIENTS.pop(os.environ.get("DOCKER_HOST", ""), None)


def local_image(ref: str):
    """image_info of `ref` through the kept client; connects afresh when that client lost its engine."""
    from expenv.domain.errors import ExpenvError
    from expenv.services.images import image_info

    try:
        return image_info(ref, engine())
    except ExpenvError:   # the image is missing, or no engine answers a new connection
        raise
    except Exception:  # noqa: BLE001 - the kept client's engine went away (restarted): once more
        forget_engine()
        return image_info(ref, engine())


def prepare_docker(image: str, image_id: str | None) -> dict[str, Any]:
    """What the plan needs: the image pinned by id, and its Python."""
    if image_id and image_id in _IMAGE_FACTS:
        return dict(_IMAGE_FACTS[image_id])
    info = local_image(image_id or image)
    facts = {"image_id": info.id, "python": info.labels.get("org.expenv.python") or "python",
             "image_user": info.user, "out_dir": OUT_DIR}
    _IMAGE_FACTS[info.id] = facts
    return dict(facts)


class ContainerSteps:
    """StepExecutor: one container per step, removed once its log and outputs are saved."""

    def __init__(self, plan: dict[str, Any]):
        self.plan = plan
        self._client = None
        self._streams: dict[str, threading.Thread] = {}
        self._unremoved: list[dict[str, Any]] = []   # containers cleanup could not reach (engine away)
        self._created: dict[str, dict[str, Any]] = {}   # step name: started, not fed yet (create_started)
        self._stdin: dict[str, Any] = {}   # container id: its stdin (an attach socket) until feed()

    @property
    def client(self):
        if self._client is None:
            self._client = engine()
        return self._client

    def start(self, step: StepSpec, argv: list[str], env: dict[str, str], log_path: Path) -> dict[str, Any]:
        resources = self.launch(step, argv, env)
        self.attach(resources, log_path)
        return resources

    def launch(self, step: StepSpec, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
        """Start the step's container (or take the one create_started made for it) and feed it its
        environment and code (the submitter may do this while the driver process starts, see
        driver.prestart); its resources."""
        if step.name not in self._created:
            self.create_started(step, argv)
        resources = self._created.pop(step.name)
        try:
            self.feed(resources, env)
        except Exception:
            forget_engine()
            self.cleanup(resources)
            raise
        return resources

    def create_started(self, step: StepSpec, argv: list[str]) -> dict[str, Any]:
        """Create and start the step's container, waiting on stdin for feed(); kept for launch().
        Needs only the image facts and the labels of the plan, not the run's MLflow ids."""
        try:
            resources = self._create_started(step, argv)
        except Exception:
            forget_engine()
            raise
        self._created[step.name] = resources
        return resources

    def _create_started(self, step: StepSpec, argv: list[str]) -> dict[str, Any]:
        plan = self.plan
        user = plan.get("image_user") or ""
        root_user = user.split(":")[0] in ("", "root", "0")
        limits: dict[str, Any] = {"pids_limit": 4096}
        if step.cpu:
            limits["nano_cpus"] = int(step.cpu * 1e9)
        if step.memory:
            limits["mem_limit"] = memory_bytes(step.memory)
        name = self.resources_of(step.name)["name"]
        api = self.client.api
        # the low-level API: the high-level create inspects the new container once more
        config = api.create_container_config(
            plan["image_id"], ["-I", "-S", "-c", BOOT, WORKDIR, OUT_DIR, *argv], entrypoint=[argv[0]],
            environment={"PYTHONUNBUFFERED": "1", **({"HOME": "/tmp"} if root_user else {})},
            working_dir="/tmp", labels={**plan["labels"], "expenv.step": step.name},
            user=f"{FALLBACK_USER[0]}:{FALLBACK_USER[1]}" if root_user else user or None, detach=True,
            stdin_open=True, host_config=api.create_host_config(
                network_mode="host", security_opt=["no-new-privileges"], cap_drop=["ALL"], **limits))
        config["StdinOnce"] = True   # the stream's end closes the step's stdin (docker-py leaves it False)
        created = api.create_container_from_config(config, name)
        resources = {"container": created["Id"], "name": name}
        try:
            self._stdin[created["Id"]] = api.attach_socket(created["Id"], params={"stdin": 1, "stream": 1})
            api.start(created["Id"])
        except Exception:
            self.cleanup(resources)
            raise
        return resources

    def feed(self, resources: dict[str, Any], env: dict[str, str]) -> None:
        """The step's environment and the code archive to its started container, then stdin's end."""
        import json
        import shutil
        import socket

        stdin = self._stdin.pop(resources["container"])
        sock = getattr(stdin, "_sock", stdin)   # docker-py hands a SocketIO over the hijacked connection
        try:
            sock.settimeout(CODE_SEND_TIMEOUT)
            with open(self.plan["code"], "rb") as archive, sock.makefile("wb") as out:
                out.write(json.dumps(env).encode() + b"\n")
                shutil.copyfileobj(archive, out, 1 << 20)
            sock.shutdown(socket.SHUT_WR)
        finally:
            _close(stdin)

    def discard_created(self) -> None:
        """Remove the containers create_started made that were never fed (a refused submission)."""
        for resources in list(self._created.values()):
            stdin = self._stdin.pop(resources["container"], None)
            if stdin is not None:
                _close(stdin)
            self.cleanup(resources)
        self._created.clear()

    def resources_of(self, step_name: str) -> dict[str, Any]:
        """The resources of a step's container, by its name (what a driver finds without a record)."""
        name = f"expenv-{self.plan['run_id']}-{step_name}"
        return {"container": name, "name": name}

    def attach(self, resources: dict[str, Any], log_path: Path) -> None:
        """Copy the started container's output (all of it, from its start) to the step's log file
        (over the engine's unix socket without the docker SDK where the engine is local)."""
        from expenv.services.pipelines import engine_logs

        self._streams[resources["container"]] = engine_logs.follow(resources["container"], log_path) or \
            engine_logs.copying(self.client.api.logs(resources["container"], stream=True, follow=True), log_path)

    def adopt_follower(self, resources: dict[str, Any], thread: threading.Thread) -> None:
        """A copy of the step's log started before this executor existed (driver_entry)."""
        self._streams[resources["container"]] = thread

    def wait(self, resources: dict[str, Any], stopping: threading.Event) -> tuple[int | None, str]:
        from docker.errors import NotFound
        from requests.exceptions import ChunkedEncodingError, ReadTimeout
        from requests.exceptions import ConnectionError as RequestsConnectionError
        from requests.exceptions import RequestException

        container_id = resources["container"]
        try:
            container = self.client.containers.get(container_id)
            stopped, unreachable_since = False, None
            while True:
                try:
                    if stopping.is_set() and not stopped:
                        container.stop(timeout=10)   # SIGTERM, then SIGKILL after 10 s
                        stopped = True
                    result = container.wait(timeout=1)
                    break
                except ReadTimeout:
                    unreachable_since = None
                except (RequestsConnectionError, ChunkedEncodingError):   # refused, or cut mid-answer
                    if self._engine_answers():   # a read that timed out, reported as a connection error
                        unreachable_since = None
                        continue
                    # The engine stopped (or restarts): ask again each second, without spinning,
                    # until it is back (its containers were stopped with it) or long gone.
                    unreachable_since = unreachable_since or time.monotonic()
                    if time.monotonic() - unreachable_since > ENGINE_LOST_SECONDS:
                        return None, (f"lost the Docker engine: it did not answer for {ENGINE_LOST_SECONDS} s "
                                      "while the step ran")
                    time.sleep(1)
            try:
                container.reload()   # for OOMKilled
            except RequestException:   # an engine that stops answers the open wait, then goes: keep its answer
                log.warning("the Docker engine went after the step's end; its exit code %s stands",
                            result.get("StatusCode"))
        except NotFound:
            return None, "the step's container disappeared while it ran (removed from the engine)"
        finally:
            thread = self._streams.pop(container_id, None)
            if thread:
                thread.join(timeout=10)
        code = int(result.get("StatusCode", -1))
        state = container.attrs.get("State") or {}
        if state.get("OOMKilled"):
            return code, f"the container ran out of memory (limit {container.attrs['HostConfig'].get('Memory')} bytes)"
        if code == 137 and not stopping.is_set():
            return code, "the container was killed (exit 137: SIGKILL, e.g. `docker kill`)"
        return code, "" if code == 0 else f"exit code {code}"

    def _engine_answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:   # noqa: BLE001 - any failure to answer is "not now"
            return False

    def collect(self, resources: dict[str, Any], step: StepSpec, dest: Path) -> list[Path]:
        """The executed notebook, copied out of the stopped container."""
        from docker.errors import APIError, NotFound

        if step.kind != "notebook":
            return []
        try:
            stream, _ = self.client.containers.get(resources["container"]).get_archive(
                notebook_output(step, OUT_DIR))
            data = b"".join(stream)
        except (APIError, NotFound):
            return []
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = archive.getmembers()[0]
            path = dest / f"{step.name}.ipynb"
            path.write_bytes(archive.extractfile(member).read())
        return [path]

    def stop(self, resources: dict[str, Any]) -> None:
        self._on_container(resources, lambda c: c.stop(timeout=10))

    def cleanup(self, resources: dict[str, Any]) -> None:
        if not self._on_container(resources, _remove):
            self._unremoved.append(resources)

    def remove_leftovers(self, patience: float = ENGINE_LOST_SECONDS) -> None:
        """Remove the containers cleanup could not reach: an engine that stops answers the step's
        wait (its container killed) and then goes, so the dead container is only removable once
        the engine is back. The driver waits for that after the run is recorded ended."""
        deadline = time.monotonic() + patience
        while self._unremoved and time.monotonic() < deadline:
            if self._engine_answers():
                self._unremoved = [r for r in self._unremoved if not self._on_container(r, _remove)]
            if self._unremoved:
                time.sleep(1)
        if self._unremoved:
            log.warning("the Docker engine did not come back in %s s: containers %s are left on it", patience,
                        ", ".join(r.get("name", r["container"]) for r in self._unremoved))

    def _on_container(self, resources: dict[str, Any], act) -> bool:
        """Stop or remove the step's container; gone already is fine. False when its engine cannot
        be reached (stopped with its containers; the caller may try again once it is back)."""
        from docker.errors import APIError, NotFound
        from requests.exceptions import RequestException

        try:
            act(self.client.containers.get(resources["container"]))
        except (NotFound, APIError):
            pass
        except RequestException as exc:
            log.warning("cannot reach the Docker engine to clean up container %s: %s", resources.get("name"), exc)
            return False
        return True


def _close(stdin) -> None:
    """Close an attach socket for good (its SocketIO wrapper holds the descriptor open otherwise)."""
    import socket

    sock = getattr(stdin, "_sock", stdin)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:   # closed by the engine already
        pass
    stdin.close()
    sock.close()


def _remove(container) -> None:
    container.remove(force=True)
