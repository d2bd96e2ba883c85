"""create_example: write the churn example project (config, data, warehouse, Feast repo,
pipeline, notebook) into a folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

# (asset file, workspace-relative target) copied verbatim.
TEMPLATE_FILES = [
    ("expenv.toml", "expenv.toml"),
    ("README.md", "README.md"),
    ("gitignore", ".gitignore"),
    ("feature_store.yaml", "features/feature_store.yaml"),
    ("definitions.py", "features/definitions.py"),
    ("train.py", "pipelines/train.py"),
    ("requirements.txt", "pipelines/requirements.txt"),
]
NOTEBOOK_ASSET = "explore_notebook.py"
NOTEBOOK = "notebooks/explore.ipynb"
# (percent-format asset, notebook) built by create_example; prepare.ipynb is the pipeline's first step.
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
    files: list[Path] = []

    step("writing configuration, pipeline and Feast definitions")
    for asset, target in TEMPLATE_FILES:
        path = dest / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(asset_text(asset), encoding="utf-8")
        files.append(Path(target))
    (dest / "pipelines" / "__init__.py").write_text("", encoding="utf-8")
    files.append(Path("pipelines/__init__.py"))
    for asset, target in NOTEBOOKS:
        (dest / target).parent.mkdir(parents=True, exist_ok=True)
        (dest / target).write_text(notebook.build_notebook(asset_text(asset)), encoding="utf-8")
        files.append(Path(target))

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
