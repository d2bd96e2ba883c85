"""Notebooks in git: the filter `expenv new` installs strips outputs as a notebook is staged, and
`expenv check` reports a committed notebook with outputs or a jupytext pair out of sync."""

from __future__ import annotations

import json

import nbformat
import pytest

from tests.template.conftest import BIN, expenv, git, run

NOTEBOOK = "notebooks/prepare.ipynb"


def _run_by_hand(path) -> None:
    """What running the notebook in Jupyter leaves: outputs, execution counts, this machine's kernel."""
    nb = nbformat.read(path, as_version=4)
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output {count}\n")]
    nb.metadata["kernelspec"]["display_name"] = "Python (my laptop)"
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    nbformat.write(nb, path)


def test_a_notebook_staged_with_outputs_is_stripped_by_the_filter(scratch):
    _run_by_hand(scratch / NOTEBOOK)
    git(scratch, "add", NOTEBOOK)
    staged = json.loads(git(scratch, "show", f":{NOTEBOOK}"))
    code = [c for c in staged["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "display_name" not in staged["metadata"]["kernelspec"]
    assert "version" not in staged["metadata"].get("language_info", {})
    assert staged["metadata"]["kernelspec"]["name"] == "python3"  # papermill needs the kernel's name
    # the working copy keeps the outputs; what is committed has none, so check passes
    assert nbformat.read(scratch / NOTEBOOK, as_version=4).cells[1].outputs
    git(scratch, "commit", "-q", "-m", "ran the notebook")
    result = expenv("check", "--json", cwd=scratch)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_reports_a_notebook_committed_with_outputs(scratch):
    _run_by_hand(scratch / NOTEBOOK)
    # committed where the filter is not installed (another clone, `git commit --no-verify` elsewhere)
    git(scratch, "-c", "filter.nbstripout.clean=cat", "add", NOTEBOOK)
    git(scratch, "commit", "-q", "-m", "outputs slipped in")
    result = expenv("check", "--json", cwd=scratch)
    assert result.returncode == 1, result.stdout + result.stderr
    [finding] = json.loads(result.stdout)["notebooks"]
    assert finding["path"] == NOTEBOOK and finding["kind"] == "outputs" and finding["severity"] == "error"
    text = expenv("check", cwd=scratch)
    assert text.returncode == 1
    assert f"{NOTEBOOK}:1:1: error: committed with outputs" in text.stdout
    assert "1 notebook problem(s)" in text.stderr


@pytest.mark.parametrize("edited", ["notebooks/prepare.py", NOTEBOOK])
def test_check_reports_a_pair_out_of_sync_until_jupytext_syncs_it(scratch, edited):
    path = scratch / edited
    if edited.endswith(".py"):
        path.write_text(path.read_text().replace("rows = 2000", "rows = 50"))
    else:
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("print('a new cell')"))
        nbformat.write(nb, path)
    result = expenv("check", "--json", cwd=scratch)
    assert result.returncode == 1, result.stdout + result.stderr
    [finding] = json.loads(result.stdout)["notebooks"]
    assert finding["path"] == NOTEBOOK and finding["kind"] == "out_of_sync"
    assert "notebooks/prepare.py" in finding["message"]

    synced = run([str(BIN / "jupytext"), "--sync", edited], cwd=scratch)
    assert synced.returncode == 0, synced.stderr
    assert expenv("check", "--json", cwd=scratch).returncode == 0


def test_check_reports_a_missing_pair(scratch):
    (scratch / "notebooks/prepare.py").unlink()
    result = expenv("check", "--json", cwd=scratch)
    assert result.returncode == 1
    [finding] = json.loads(result.stdout)["notebooks"]
    assert finding["kind"] == "unpaired" and "notebooks/prepare.py" in finding["message"]
