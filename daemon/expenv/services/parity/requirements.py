"""The code action "Add to the production requirements": one line in the requirements file."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from expenv.services.parity.snapshot import ParityError

_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


@dataclass(frozen=True)
class RequirementEdit:
    """What adding a requirement did (0-based line; old_text None when a line was appended)."""

    path: str
    line: int
    old_text: str | None
    new_text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    if "\n" in requirement or "\r" in requirement:
        raise ParityError(f"a requirement is one line: {requirement!r}")
    match = _NAME.match(requirement)
    if not match or requirement.lstrip().startswith(("-", "#")):
        raise ParityError(f"not a requirement: {requirement!r} (expected e.g. 'six==1.17.0')")
    return canonical(match.group(1))


def requirement_edit(text: str, requirement: str) -> tuple[str, int, str | None]:
    """(new text, line, replaced line or None): replace the line that names the same distribution,
    else append one. Comments, options (-r, --index-url) and other lines stay as they are."""
    name = requirement_name(requirement)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")):
            continue
        match = _NAME.match(stripped)
        if match and canonical(match.group(1)) == name:
            comment = line[line.index(" #"):] if " #" in line else ""
            lines[i] = requirement.strip() + comment
            return "\n".join(lines) + "\n", i, line
    lines.append(requirement.strip())
    return "\n".join(lines) + "\n", len(lines) - 1, None


def add_requirement(path: Path, requirement: str) -> RequirementEdit:
    """Add (or update) `requirement` in the requirements file at `path` (created if missing)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    new_text, line, old = requirement_edit(text, requirement)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new_text, encoding="utf-8")
    return RequirementEdit(str(path), line, old, new_text.splitlines()[line])
