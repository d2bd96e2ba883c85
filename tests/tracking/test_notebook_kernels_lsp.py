"""The editor's notebook controller, daemon side: `expenv.kernels.execute|interrupt|restart|shutdown`
through the real `expenv serve`. A notebook's cells run on a kernel the daemon starts in the
notebook's folder; outputs stream as `expenv/kernelOutput` notifications; a cell that logs to
MLflow makes a run tagged with the notebook runner, read back through MLflow's REST API."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import DAEMON_CMD
from tests.lsp.session import command, end_session, start, wait_for
from tests.tracking.conftest import assert_nothing_preset, run_named, server_uri


def _plain(value):
    """A notification's params as plain JSON values (pygls hands unknown shapes over as namedtuples)."""
    if hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@pytest_lsp.fixture(config=ClientServerConfig(server_command=DAEMON_CMD))
async def editor(lsp_client: LanguageClient):
    """`expenv serve` driven with VS Code's capabilities, keeping every kernel output it streamed."""
    lsp_client.profile = "visual_studio_code"
    lsp_client.outputs = []

    @lsp_client.feature("expenv/kernelOutput")
    def on_output(params):
        lsp_client.outputs.append(_plain(params))

    yield
    if not getattr(lsp_client, "ended", False):
        await end_session(lsp_client)


@pytest.fixture
def notebook(tracked_workspace):
    root, _ = tracked_workspace
    folder = root / "notebooks"
    folder.mkdir(exist_ok=True)
    return folder / f"nb-{uuid.uuid4().hex[:8]}.ipynb"


@pytest.fixture
async def opened(editor, tracked_workspace, notebook):
    """The workspace open in the editor; the notebook's kernel is shut down afterwards (over LSP)."""
    await start(editor, tracked_workspace[0])
    yield editor
    stopped = await command(editor, "expenv.kernels.shutdown", {"notebook": str(notebook)})
    assert stopped["state"] == "stopped"


async def execute(client, notebook: Path, code: str, cell: str = "c") -> dict:
    return await command(client, "expenv.kernels.execute", {"notebook": notebook.as_uri(), "code": code, "cell": cell})


async def long_cell(client, notebook: Path) -> asyncio.Future:
    """A cell that sleeps for long, once the kernel has started running it (its first output came)."""
    running = asyncio.ensure_future(execute(client, notebook, "import time\nprint('sleeping', flush=True)\n"
                                                              "time.sleep(120)", "long"))
    await wait_for(lambda: any(o["cell"] == "long" for o in client.outputs), timeout=60)
    return running


async def test_cells_stream_outputs_and_a_cell_run_is_tagged_notebook(opened, tracked_workspace, notebook):
    root, sha = tracked_workspace
    assert_nothing_preset()
    name = f"nb-cell-{uuid.uuid4().hex[:8]}"
    first = await execute(opened, notebook, "import os\nprint('hello')\nprint('world')\nos.getcwd()", "c1")
    assert first["status"] == "ok" and first["execution_count"] == 1
    # consecutive stdout joined; the cell's value as an execute_result; run in the notebook's folder
    assert first["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "hello\nworld\n"},
        {"output_type": "execute_result", "data": {"text/plain": repr(str(notebook.parent))}, "metadata": {},
         "execution_count": 1}]
    streamed = [o for o in opened.outputs if o["cell"] == "c1"]
    assert "".join(o["output"].get("text", "") for o in streamed) == "hello\nworld\n"
    assert streamed[0]["notebook"] == notebook.as_uri()

    html = await execute(opened, notebook, "from IPython.display import HTML, display\ndisplay(HTML('<b>x</b>'))")
    assert html["outputs"][0]["output_type"] == "display_data"
    assert html["outputs"][0]["data"]["text/html"] == "<b>x</b>"

    logged = await execute(opened, notebook, "import mlflow\nwith mlflow.start_run(run_name=%r) as run:\n"
                                             "    mlflow.log_metric('auc', 0.66)\nrun.info.run_id" % name)
    assert logged["status"] == "ok", logged
    run = run_named(server_uri(root), "churn", name)
    assert repr(run["run_id"]) == logged["outputs"][-1]["data"]["text/plain"]
    assert run["tags"]["expenv.runner"] == "notebook"
    assert run["tags"]["mlflow.source.git.commit"] == sha
    assert float(run["metrics"]["auc"]) == pytest.approx(0.66)

    failed = await execute(opened, notebook, "1/0")
    assert failed["status"] == "error"
    (error,) = failed["outputs"]
    assert (error["output_type"], error["ename"]) == ("error", "ZeroDivisionError") and error["traceback"]


async def test_interrupt_ends_a_running_cell_and_the_kernel_keeps_its_state(opened, notebook):
    await execute(opened, notebook, "kept = 41")
    running = await long_cell(opened, notebook)
    await command(opened, "expenv.kernels.interrupt", {"notebook": str(notebook)})
    ended = await asyncio.wait_for(running, 60)
    assert ended["status"] == "error" and ended["outputs"][-1]["ename"] == "KeyboardInterrupt"
    after = await execute(opened, notebook, "kept + 1")
    assert after["outputs"][0]["data"]["text/plain"] == "42"


async def test_restart_aborts_a_running_cell_and_clears_the_state(opened, notebook):
    first = await execute(opened, notebook, "kept = 1")
    running = await long_cell(opened, notebook)
    restarted = await command(opened, "expenv.kernels.restart", {"notebook": str(notebook)})
    assert restarted["restarts"] == 1
    ended = await asyncio.wait_for(running, 60)
    assert ended["status"] == "aborted" and "restarted" in ended["detail"]
    after = await execute(opened, notebook, "kept")
    assert after["status"] == "error" and after["outputs"][0]["ename"] == "NameError"
    assert after["kernel"] == first["kernel"]   # the same kernel, restarted: no second one


async def test_bad_input_names_the_field_and_the_daemon_keeps_serving(editor, tracked_workspace, notebook):
    root, _ = tracked_workspace
    await start(editor, root)
    with pytest.raises(Exception, match="notebook is missing"):
        await command(editor, "expenv.kernels.execute", {"code": "1"})
    with pytest.raises(Exception, match="has no kernel yet"):
        await command(editor, "expenv.kernels.interrupt", {"notebook": str(notebook)})
    report = await command(editor, "expenv.status", {})
    assert report["workspaces"][0]["root"] == str(root)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def test_a_notebook_kernel_exits_with_the_daemon(editor, tracked_workspace, notebook):
    """As a Jupyter server's kernels do: closing the editor leaves no kernel process behind."""
    await start(editor, tracked_workspace[0])
    ran = await execute(editor, notebook, "import os\nos.getpid()")
    pid = int(ran["outputs"][0]["data"]["text/plain"])
    assert _running(pid)
    await editor.shutdown_session()
    editor.ended = True
    await wait_for(lambda: not _running(pid), timeout=30)
