"""The CI/CD plan: for a repository event (a pull request, a push, a schedule), the ordered steps
that the GitHub workflows run (`expenv ci run --event ...`) and that a terminal runs the same way.
Pure: the facts about the repository are gathered by expenv.services.ci.plan."""

from __future__ import annotations

import fnmatch
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from expenv.domain.errors import ExpenvError

EVENTS = ("pull_request", "push", "schedule")
FEATURE_BRANCHES = "feature/*"
RELEASE_BRANCHES = "release/*"
MAIN_BRANCH = "main"


@dataclass(frozen=True)
class CiStep:
    """One step: a short command line (an `expenv`, `make` or tool command), run from the repo root."""

    name: str
    argv: tuple[str, ...]
    why: str = ""

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "command": self.command, "argv": list(self.argv), "why": self.why}


@dataclass(frozen=True)
class RepoFacts:
    """What the plan depends on in the repository (gathered from its files and expenv.toml)."""

    make_targets: frozenset[str] = frozenset()
    has_ruff: bool = False
    lint_paths: tuple[str, ...] = ()
    has_tests: bool = False
    pipeline: str | None = None
    preprod_target: str = "preprod"
    alias: str = "champion"
    model: str | None = None


@dataclass
class CiPlan:
    event: str
    source: str | None
    target: str | None
    kind: str                  # checks | preprod | promote | template-update | none
    steps: list[CiStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [s.as_dict() for s in self.steps]
        return data


def is_feature(branch: str | None) -> bool:
    return bool(branch) and fnmatch.fnmatchcase(branch, FEATURE_BRANCHES)


def is_release(branch: str | None) -> bool:
    return bool(branch) and fnmatch.fnmatchcase(branch, RELEASE_BRANCHES)


def _strip_ref(branch: str | None) -> str | None:
    return branch.removeprefix("refs/heads/") if branch else branch


def build_plan(event: str, source: str | None, target: str | None, facts: RepoFacts) -> CiPlan:
    """The steps CI runs for EVENT (a PR SOURCE → TARGET, a push to TARGET, or the schedule)."""
    if event not in EVENTS:
        raise ExpenvError(f"event: {event!r} is not one of {', '.join(EVENTS)}")
    source, target = _strip_ref(source), _strip_ref(target)
    if event == "pull_request":
        if not target:
            raise ExpenvError("to: a pull_request event needs the branch it merges into (--to)")
        plan = CiPlan(event, source, target, "checks", _checks(target, facts))
        if is_feature(source) and is_release(target):
            plan.kind = "preprod"
            plan.steps += _preprod(source, target, facts, plan.notes)
        else:
            plan.notes.append("pre-prod deployment runs only for a pull request from feature/* into release/*")
        return plan
    if event == "push":
        if target != MAIN_BRANCH:
            return CiPlan(event, source, target, "none",
                          notes=[f"a push to {target or '(no branch)'} runs nothing; a merge into main promotes"])
        steps = [_check_step(target),
                 CiStep("promote", ("expenv", "ci", "promote", "--target", facts.preprod_target,
                                    "--alias", facts.alias, *_model_args(facts)),
                        "tag the image with the commit and the release; register the pre-prod run's model under the "
                        "alias (no retraining)")]
        return CiPlan(event, source, target, "promote", steps)
    return CiPlan(event, source, target, "template-update",
                  [CiStep("template-update", ("expenv", "ci", "template-update"),
                          "copier update against the newest template; a pull request when it changed")])


def _model_args(facts: RepoFacts) -> tuple[str, ...]:
    return ("--model", facts.model) if facts.model else ()


def _check_step(branch: str) -> CiStep:
    return CiStep("check", ("expenv", "check", "--branch", branch),
                  f"feature-store policy (as on {branch}), notebooks stripped, lock parity")


def _checks(target: str, facts: RepoFacts) -> list[CiStep]:
    steps = []
    if "lint" in facts.make_targets:
        steps.append(CiStep("lint", ("make", "lint"), "the Makefile's lint target"))
    elif facts.has_ruff:
        steps.append(CiStep("lint", ("ruff", "check", "."), "ruff is in the project's dev dependencies"))
    else:
        steps.append(CiStep("lint", ("python", "-m", "compileall", "-q", *facts.lint_paths),
                            "no ruff in the project's dev dependencies: every module must at least compile"))
    if "test" in facts.make_targets:
        steps.append(CiStep("unit-tests", ("make", "test"), "the Makefile's test target"))
    elif facts.has_tests:
        steps.append(CiStep("unit-tests", ("python", "-m", "pytest", "-q", "tests"), "the repository's tests/"))
    steps.append(_check_step(target))
    return steps


def _preprod(source: str | None, target: str, facts: RepoFacts, notes: list[str]) -> list[CiStep]:
    if not facts.pipeline:
        notes.append("no [pipelines.*] in expenv.toml: nothing to deploy to pre-prod")
        return []
    pipeline, preprod = facts.pipeline, facts.preprod_target
    return [
        CiStep("build-image", ("expenv", "images", "build", "--no-dev"), "the production image of expenv.toml"),
        CiStep("image-tests", ("expenv", "ci", "image-test"), "the pipeline code and tests/ inside that image"),
        # --parity lock: a CI runner is no kernel; the gate compares the committed lock with the image
        CiStep("preprod-run", ("expenv", "pipeline", "submit", pipeline, "--target", preprod, "--wait",
                               "--parity", "lock"),
               f"deploy {pipeline} to the {preprod} target and run it (the policy gate, and the image must be "
               "the lock's)"),
        CiStep("pr-comment", ("expenv", "ci", "comment", "--pipeline", pipeline, "--target", preprod,
                              "--from", source or "", "--to", target),
               "the MLflow run's link and key metrics on the pull request"),
    ]
