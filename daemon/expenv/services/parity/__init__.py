"""Parity: where the notebook kernel's environment has drifted from the production image's."""

from expenv.services.parity.compare import (
    PackageDifference,
    ParityReport,
    PlatformDifference,
    check_parity,
    check_workspace_parity,
    compare,
)
from expenv.services.parity.documents import DocumentFinding, DocumentParity
from expenv.services.parity.imports import ImportFinding, unprovided_imports
from expenv.services.parity.lock import LockReport, check_lock, lock_file
from expenv.services.parity.requirements import RequirementEdit, add_requirement, requirement_edit
from expenv.services.parity.snapshot import EnvironmentSnapshot, ParityError, image_snapshot, kernel_snapshot

__all__ = [
    "DocumentFinding", "DocumentParity", "EnvironmentSnapshot", "ImportFinding", "LockReport", "PackageDifference", "ParityError", "ParityReport", "PlatformDifference",
    "RequirementEdit", "add_requirement", "check_parity", "check_workspace_parity", "check_lock", "lock_file", "compare", "image_snapshot", "kernel_snapshot",
    "requirement_edit", "unprovided_imports",
]
