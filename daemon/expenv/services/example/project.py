"""create_example: write the churn example project (config, data, warehouse, Feast repo,
pipeline, notebook) into a folder."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

# The example is a rendering of the repository template (templates/project) with these answers,
# plus its own code below and the generated data: there is one project skeleton.
ANSWERS = {"project_name": "churn", "base_image": "expenv-base:bookworm"}
# (asset file, workspace-relative target): the example's own code, written over the template's.
TEMPLATE_FILES = [
    ("definitions.py", "features/definitions.py"),
    ("train.py", "pipelines/train.py"),
    ("test_pipeline.py", "tests/test_pipeline.py"),
]
# The template's starter code that the example's own code replaces.
STARTER_FILES = ["src/churn/model.py", "tests/test_model.py", "notebooks/prepare.py", "notebooks/prepare.ipynb"]
# The example's pipeline replaces the template's starter [pipelines.*] tables in expenv.toml.
PIPELINE_ASSET = "pipeline.toml"
README_ASSET = "README.md"
NOTEBOOK_ASSET = "explore_notebook.py"
NOTEBOOK = "notebooks/explore.ipynb"
# (percent-format asset, notebook) built by create_example; prepare.ipynb is the pipeline's first step.
# Each notebook gets its jupytext pair (notebooks/NAME.py), as the template's jupytext.toml asks.
NOTEBOOKS = [(NOTEBOOK_ASSET, NOTEBOOK), ("prepare_notebook.py", "notebooks/prepare.ipynb")]
RAW_DIR = "data/raw"
DATABASE = "data/warehouse.duckdb"
FEATURE_DATA_DIR = "features/data"
# What overwrite=True removes before writing (generated data only; other files stay).
GENERATED_DATA = [RAW_DIR, DATABASE, DATABASE + ".wal", FEATURE_DATA_DIR]


@dataclass(frozen=True)
class ExampleProject:
    """The example project written by create_example."""

    root: Path
    rows: int
    files: list[Path] = field(default_factory=list)   # workspace-relative
    tables: list[str] = field(default_factory=list)   # curated schema.table names

    @property
    def database(self) -> Path:
        return self.root / DATABASE

    @property
    def feature_repo(self) -> Path:
        return self.root / "features"


def asset_text(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _write_own_code(dest: Path) -> None:
    """The example's code over the rendered template: its pipeline (script and expenv.toml tables),
    Feast definitions, tests, and a README that starts with the example and keeps the template's."""
    for asset, target in TEMPLATE_FILES:
        (dest / target).parent.mkdir(parents=True, exist_ok=True)
        (dest / target).write_text(asset_text(asset), encoding="utf-8")
    config = dest / "expenv.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text[:text.index("[pipelines.")] + asset_text(PIPELINE_ASSET), encoding="utf-8")
    readme = dest / "README.md"
    template_readme = readme.read_text(encoding="utf-8").split("\n", 1)[1]
    readme.write_text(asset_text(README_ASSET) + "\n## The repository template" + template_readme, encoding="utf-8")


def _check_destination(dest: Path, overwrite: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise FileExistsError(f"{dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"{dest} is not empty; choose an empty or new directory, or pass overwrite=True "
                "(`--overwrite`) to replace the example's files in it")
        for rel in GENERATED_DATA:
            path = dest / rel
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()


def create_example(
    dest: Path,
    rows: int = 1_000_000,
    seed: int = 7,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ExampleProject:
    """Write the churn example project into `dest` (created if missing).

    `rows` is the size of the biggest raw dataset (usage events); customers are rows/10,
    payments rows/2. The same (rows, seed) gives the same data. Raises FileExistsError when
    `dest` is not empty, unless overwrite=True (which replaces the example's files and data).
    """
    from . import notebook, rawdata, warehouse

    dest = Path(dest).expanduser().resolve()
    sizes = rawdata.sizes(rows)  # validates rows before anything touches the disk
    _check_destination(dest, overwrite)
    step = progress or (lambda _message: None)

    dest.mkdir(parents=True, exist_ok=True)
    step("rendering the repository template, then the example's pipeline, Feast definitions and notebooks")
    from expenv.services.repository.template import render_project

    with tempfile.TemporaryDirectory(prefix="expenv-example-") as tmp:
        rendered = render_project(Path(tmp) / "project", ANSWERS)
        shutil.copytree(rendered["root"], dest, dirs_exist_ok=True, symlinks=True)
    written = {Path(f) for f in rendered["files"]} - {Path(f) for f in STARTER_FILES}
    for rel in STARTER_FILES:
        (dest / rel).unlink(missing_ok=True)
    _write_own_code(dest)
    for asset, target in NOTEBOOKS:
        (dest / target).parent.mkdir(parents=True, exist_ok=True)
        text = notebook.build_notebook(asset_text(asset))
        (dest / target).write_text(text, encoding="utf-8")
        (dest / target).with_suffix(".py").write_text(notebook.text_pair(text), encoding="utf-8")
        written |= {Path(target), Path(target).with_suffix(".py")}
    files = sorted(written | {Path(target) for _, target in TEMPLATE_FILES})

    step(f"generating raw data: {sizes['customers']:,} customers, "
         f"{sizes['usage_events']:,} usage events, {sizes['payments']:,} payments")
    raw = rawdata.write_raw(dest / RAW_DIR, rows=rows, seed=seed)
    files += [Path(RAW_DIR) / f for f in raw.files]

    step("building the curated warehouse with DuckDB and exporting feature data")
    exported = warehouse.build_warehouse(dest / RAW_DIR, dest / DATABASE, dest / FEATURE_DATA_DIR)
    files.append(Path(DATABASE))
    files += [Path(FEATURE_DATA_DIR) / f for f in exported]

    step(f"done: {dest}")
    return ExampleProject(root=dest, rows=rows, files=sorted(files), tables=list(warehouse.TABLES))
