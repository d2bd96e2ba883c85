"""Talking to a running kernel over its connection file: heartbeat, execute, shutdown request."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExecutionResult:
    """What one execute_request produced."""

    status: str                      # "ok" | "error" | "aborted"
    stdout: str = ""
    stderr: str = ""
    error_name: str = ""
    error_value: str = ""
    results: list[str] = field(default_factory=list)   # text/plain of execute_result outputs

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def heartbeat(connection_file: Path, timeout: float = 1.0) -> bool:
    """True when the kernel echoes on its heartbeat socket (works across pid namespaces)."""
    import zmq

    try:
        info = json.loads(Path(connection_file).read_text())
    except (OSError, ValueError):
        return False
    sock: zmq.Socket = zmq.Context.instance().socket(zmq.REQ)
    sock.linger = 0
    try:
        sock.connect(f"{info.get('transport', 'tcp')}://{info['ip']}:{info['hb_port']}")
        sock.send(b"ping")
        return bool(sock.poll(int(timeout * 1000), zmq.POLLIN)) and sock.recv() == b"ping"
    except zmq.ZMQError:
        return False
    finally:
        sock.close(0)


def execute(connection_file: Path, code: str, timeout: float = 120) -> ExecutionResult:
    """Run `code` in the kernel and collect its stream, result and error outputs."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    out: dict[str, list[str]] = {"stdout": [], "stderr": [], "results": []}
    error: dict[str, str] = {}

    def hook(msg: dict[str, Any]) -> None:
        kind, content = msg["header"]["msg_type"], msg["content"]
        if kind == "stream":
            out[content["name"]].append(content["text"])
        elif kind in ("execute_result", "display_data"):
            out["results"].append(content["data"].get("text/plain", ""))
        elif kind == "error":
            error.update(name=content["ename"], value=content["evalue"])

    try:
        client.wait_for_ready(timeout=timeout)
        reply = client.execute_interactive(code, timeout=timeout, output_hook=hook, allow_stdin=False)
    finally:
        client.stop_channels()
    status = reply["content"]["status"]
    return ExecutionResult(status, "".join(out["stdout"]), "".join(out["stderr"]), error.get("name", ""),
                           error.get("value", ""), out["results"])


def request_shutdown(connection_file: Path, timeout: float = 5) -> bool:
    """Ask the kernel to exit (control channel). False when it did not answer."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(connection_file))
    try:
        client.load_connection_file()
        client.start_channels(shell=False, iopub=False, stdin=False, hb=False, control=True)
        client.shutdown()
        return bool(client.control_channel.get_msg(timeout=timeout))
    except Exception:  # noqa: BLE001 - a kernel that does not answer is stopped by signal instead
        return False
    finally:
        client.stop_channels()
