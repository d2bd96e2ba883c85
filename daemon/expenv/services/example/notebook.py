"""Build the example's notebooks (nbformat v4, no outputs) from percent-format sources, and their
jupytext text pairs."""

from __future__ import annotations

import re

# `# %% tags=["parameters"]` (jupytext's spelling) tags a cell: papermill injects after it.
_MARKER = re.compile(r"^# %%(?P<kind>\s*\[markdown\])?(?:\s+tags=\[(?P<tags>[^\]]*)\])?\s*$")


def parse_cells(source: str) -> list[tuple[str, str, list[str]]]:
    """Split percent-format text into (cell_type, source, tags); text before the first marker
    is dropped, markdown lines lose their leading "# "."""
    cells: list[tuple[str, list[str], list[str]]] = []
    for line in source.splitlines():
        match = _MARKER.match(line)
        if match:
            tags = re.findall(r'"([^"]+)"', match.group("tags") or "")
            cells.append(("markdown" if match.group("kind") else "code", [], tags))
        elif cells:
            kind, lines, _ = cells[-1]
            if kind == "markdown":
                line = line[2:] if line.startswith("# ") else line.lstrip("#")
            lines.append(line)
    return [(kind, "\n".join(lines).strip("\n"), tags) for kind, lines, tags in cells]


def build_notebook(source: str) -> str:
    """The notebook JSON text for percent-format `source`."""
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, text, tags) in enumerate(parse_cells(source)):
        cell = v4.new_markdown_cell(text) if kind == "markdown" else v4.new_code_cell(text)
        if tags:
            cell.metadata["tags"] = tags
        cell.id = f"cell-{index:02d}"  # stable ids: the same notebook bytes on every run
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nbformat.writes(nb, version=4) + "\n"


def text_pair(notebook_text: str) -> str:
    """The percent-format .py pair of a notebook (jupytext), as `jupytext --sync` writes it."""
    import jupytext

    return jupytext.writes(jupytext.reads(notebook_text, fmt="ipynb"), fmt="py:percent")
