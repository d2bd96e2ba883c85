"""One notebook cell in a running kernel, its outputs streamed as they come (nbformat's output
shapes: stream, display_data, execute_result, error), ended by interrupt, restart or death."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

OUTPUT_MESSAGES = ("stream", "display_data", "execute_result", "error", "clear_output", "update_display_data")


@dataclass(frozen=True)
class CellRun:
    """What running one cell gave: its status and its outputs (nbformat v4 output dicts)."""

    status: str                      # ok | error | aborted
    execution_count: int | None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    kernel: str = ""
    detail: str = ""                 # for aborted: why (the kernel restarted, died, ...)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_output(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    """An iopub message's content as an nbformat output (clear_output kept as a marker)."""
    if kind == "stream":
        return {"output_type": "stream", "name": content.get("name", "stdout"), "text": content.get("text", "")}
    if kind == "error":
        return {"output_type": "error", "ename": content.get("ename", ""), "evalue": content.get("evalue", ""),
                "traceback": list(content.get("traceback", []))}
    if kind == "clear_output":
        return {"output_type": "clear_output", "wait": bool(content.get("wait"))}
    output = {"output_type": "display_data" if kind == "update_display_data" else kind,
              "data": dict(content.get("data", {})), "metadata": dict(content.get("metadata", {}))}
    if kind == "execute_result":
        output["execution_count"] = content.get("execution_count")
    return output


class CellOutputs:
    """The outputs a notebook shows for a cell: consecutive stream text of one name joined, and
    clear_output applied (at once, or with wait=True at the next output, as Jupyter does)."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, Any]] = []
        self._clear_on_next = False

    def add(self, output: dict[str, Any]) -> None:
        if output["output_type"] == "clear_output":
            if output["wait"]:
                self._clear_on_next = True
            else:
                self.outputs.clear()
            return
        if self._clear_on_next:
            self.outputs.clear()
            self._clear_on_next = False
        last = self.outputs[-1] if self.outputs else None
        if (output["output_type"] == "stream" and last and last["output_type"] == "stream"
                and last["name"] == output["name"]):
            self.outputs[-1] = {**last, "text": last["text"] + output["text"]}
        else:
            self.outputs.append(output)


def run_cell(connection_file: Path, code: str, on_output: Callable[[dict[str, Any]], None],
             still_running: Callable[[], str | None], poll: float = 0.5) -> CellRun:
    """Execute `code`; each output goes to `on_output` as it arrives. `still_running()` is asked
    while the kernel is quiet: a reason string ends the wait (the kernel was restarted or died)."""
    from queue import Empty

    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    collected = CellOutputs()
    try:
        client.wait_for_ready(timeout=60)
        msg_id = client.execute(code, allow_stdin=False, stop_on_error=True)
        while True:
            try:
                msg = client.get_iopub_msg(timeout=poll)
            except Empty:
                reason = still_running()
                if reason:
                    return CellRun("aborted", None, collected.outputs, detail=reason)
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                break
            if kind in OUTPUT_MESSAGES:
                output = to_output(kind, msg["content"])
                collected.add(output)
                on_output(output)
        reply = _shell_reply(client, msg_id)
    finally:
        client.stop_channels()
    content = reply.get("content", {}) if reply else {}
    return CellRun(content.get("status", "ok"), content.get("execution_count"), collected.outputs)


def _shell_reply(client, msg_id: str, timeout: float = 10) -> dict[str, Any] | None:
    from queue import Empty

    try:
        while True:
            reply = client.get_shell_msg(timeout=timeout)
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply
    except Empty:
        return None
