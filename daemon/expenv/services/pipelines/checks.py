"""What is checked and decided before a submission: the code pinned to a commit, the sourcing
policy and parity for production-like targets, and the image (pinned by id on a local engine)."""

from __future__ import annotations

from pathlib import Path

from expenv.domain.config import ExpenvConfig, TargetSection
from expenv.domain.pipelines import PipelineError, PipelineRun, PipelineSpec
from expenv.services.pipelines import source


class PolicyRefused(PipelineError):
    """A production-like submission of a pipeline that reads raw or curated data directly."""


class DriftRefused(PipelineError):
    """A production-like submission from a kernel that drifted from the production image."""


def current_commit(root: Path) -> tuple[str | None, str | None]:
    try:
        pinned = source.pin(root)
    except PipelineError:
        return None, None
    return pinned.commit, pinned.branch


def pin_code(root: Path, target: TargetSection, run_dir: Path) -> source.PinnedCode:
    """Pin the workspace to its commit, archive it (plus the target's includes) as run_dir/code.tar
    and keep the uncommitted changes as run_dir/patch.diff."""
    pinned = source.pin(root)
    run_dir.mkdir(parents=True, exist_ok=True)
    if pinned.patch:
        (run_dir / "patch.diff").write_text(pinned.patch, encoding="utf-8")
    source.write_archive(root, pinned, target.include, run_dir / "code.tar")
    return pinned


def _step_files(config: ExpenvConfig, spec: PipelineSpec) -> list[Path]:
    files = []
    for step in spec.steps:
        if step.kind == "python" and not step.entrypoint.endswith(".py"):
            module = step.entrypoint.partition(":")[0].replace(".", "/")
            for candidate in (config.root / f"{module}.py", config.root / module / "__init__.py"):
                if candidate.is_file():
                    files.append(candidate)
                    break
        elif step.kind == "python":
            files.append(config.root / step.entrypoint)
    return files


def _notebook_cells(path: Path) -> list[tuple[int, str]]:
    """(cell index, code) of a notebook's code cells."""
    import json

    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return []
    out = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            text = cell.get("source", "")
            out.append((index, "".join(text) if isinstance(text, list) else text))
    return out


def check_policy(config: ExpenvConfig, features, spec: PipelineSpec, branch: str | None) -> None:
    """Refuse a pipeline whose steps (and the workspace modules they import, and notebook cells)
    read raw or curated data directly; the refusal names each file:line."""
    from expenv.services.features.policy import check_policy as policy_files
    from expenv.services.features.policy import sourcing_rules, violations_in

    data = features.data if features is not None and hasattr(features, "data") else None
    found = []
    files = _step_files(config, spec)
    if files:
        found += [v for v in policy_files(config, files, branch, data=data, enforce=True)
                  if v.severity == "error"]
    rules = None
    for step in spec.steps:
        if step.kind != "notebook":
            continue
        for index, code in _notebook_cells(config.root / step.entrypoint):
            if rules is None:
                rules = sourcing_rules(config, data if data is not None else _data(config))
            found += violations_in(code, f"{step.entrypoint}#cell{index + 1}", rules, branch, True)
    if found:
        lines = [f"{_shown(v.path, config.root)}:{v.line}:{v.column}: {v.message}" for v in found]
        raise PolicyRefused(f"pipeline {spec.name} reads data the sourcing policy forbids on a production-like "
                            "target:\n" + "\n".join(lines))


def _data(config: ExpenvConfig):
    from expenv.services.data import DataService

    return DataService(config)


def _shown(path: str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def check_parity(config: ExpenvConfig, target: TargetSection, allow_drift: bool) -> list[str]:
    """The kernel vs the production image: refused when they differ, unless `allow_drift` (then
    the differences are returned, to be recorded on the run)."""
    from expenv.services.parity import check_workspace_parity

    report = check_workspace_parity(config, image=target.image)
    if report.ok:
        return []
    drift = [f"{d.name}: kernel {d.kernel or '-'}, image {d.image or '-'}"
             for d in (*report.missing_in_image, *report.version_drift, *report.missing_in_kernel)]
    if report.python:
        drift.append(f"python: kernel {report.python.kernel}, image {report.python.image}")
    drift += [f"{d.name}: kernel {d.kernel}, image {d.image}" for d in report.os_drift]
    if not allow_drift:
        shown = "\n".join(f"  {d}" for d in drift[:20]) + ("\n  …" if len(drift) > 20 else "")
        raise DriftRefused(f"{report.summary()}; a production-like target runs the image, so the run would not "
                           f"match what you tried:\n{shown}\nadd the packages to "
                           f"{config.requirements_file.relative_to(config.root)} and rebuild, or pass --allow-drift "
                           "(recorded on the run)")
    return drift


def resolve_image(config: ExpenvConfig, target: TargetSection, rerun: PipelineRun | None) -> tuple[str | None, str | None]:
    """(image reference, image id or digest). Local and docker runs pin the image id of the local
    engine; a rerun uses the image id of the run it repeats."""
    image = target.image or config.environment.production_image
    if rerun is not None:
        return rerun.image, rerun.image_digest
    if target.backend == "local":
        return image, None
    if not image:
        raise PipelineError(f"target {target.name} needs an image: set [environment] production_image "
                            f"or [targets.{target.name}] image in {config.root / 'expenv.toml'}")
    if target.backend != "docker":
        return image, None
    from expenv.services.pipelines.docker import local_image

    return image, local_image(image).id


def check_lock_parity(config: ExpenvConfig, target: TargetSection, allow_drift: bool) -> list[str]:
    """The committed requirements lock (HEAD's) vs the image (`--parity lock`, as CI submits: a CI runner
    is no kernel; what must hold there is that the image runs the committed lock, not one the build
    just wrote). Refused like check_parity."""
    import subprocess

    from expenv.services.parity.lock import check_lock, lock_file

    rel = lock_file(config).relative_to(config.root).as_posix()
    committed = subprocess.run(["git", "-C", str(config.root), "show", f"HEAD:{rel}"], capture_output=True,
                               text=True, timeout=60)
    if committed.returncode != 0:
        message = f"{rel}: not committed at HEAD; `make image` writes the production image's lock: commit it"
        drift = []
    else:
        report = check_lock(config, image=target.image, required=True, text=committed.stdout)
        if report.ok:
            return []
        message = f"{report.message} (the lock committed at HEAD)"
        drift = [f"{d['name']}: lock {d['lock'] or '-'}, image {d['image'] or '-'}" for d in report.differences]
    if not allow_drift:
        raise DriftRefused(f"{message}; a production-like target runs the image, so it must be the lock's "
                           "(or pass --allow-drift, recorded on the run)")
    return drift or [message]
