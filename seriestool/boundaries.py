"""The end of each pull request of the stack: the series up to there is built (or taken
from the wheel cache), installed into ``build/boundary-venv``, and tested.

Which test files run at the end of PR k (see CONTRIBUTING.md):

- the test files PR k adds or changes;
- the test files that an earlier PR j added or changed, when PR k changes a code file
  (a file of the package that is not a test file) that PR j changed too;
- every test file there, when PR k changes a file that all tests depend on
  (pyproject.toml, setup.cfg, setup.py, conftest.py, MANIFEST.in), or changes code
  that none of the above relates to, or with ``--all-boundary-tests``.

The test files of an earlier PR that PR k's code changes do not meet passed at the end
of that PR; the whole series runs every test file (the main run of ``test``, the last
PR of ``check``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .build import get_wheel
from .console import Console, Result, Status, Timer, fresh_log, pytest_result
from .git import git, git_text
from .project import Project, SeriesError
from .runpytest import is_test_file, run_pytest
from .series import PullRequest
from .tree import BASE_TAG
from .venv import ensure_env

# Files outside the package that every test depends on.
GLOBAL_FILES = frozenset({"pyproject.toml", "setup.cfg", "setup.py", "conftest.py", "MANIFEST.in"})


@dataclass(frozen=True)
class Boundary:
    pr: PullRequest
    patches: list[Path]  # the sdist patches of the series up to the end of ``pr``
    commit: str  # that end, in the tree of the whole series
    changed: frozenset[str]  # the files the patches of ``pr`` change
    present: frozenset[str]  # the test files the series has there


@dataclass(frozen=True)
class Selection:
    files: list[str]
    why: str


def _names(tree: Path, *args: str) -> frozenset[str]:
    out = git_text(tree, "diff", "--name-only", "--no-renames", *args)
    return frozenset(line for line in out.splitlines() if line)


def plan(project: Project, prs: Sequence[PullRequest], tree: Path) -> list[Boundary]:
    """The end of each of ``prs`` (a stack from its first PR) in ``tree``, a tree of the
    whole series with one commit per patch (``patched_tree``).
    """
    commits = git_text(tree, "rev-list", "--reverse", f"{BASE_TAG}..HEAD").split()
    base = git_text(tree, "rev-parse", BASE_TAG)
    boundaries: list[Boundary] = []
    patches: list[Path] = []
    previous = base
    for pr in prs:
        patches = patches + [
            project.patches_dir / e.name for e in pr.entries if not e.upstream_only
        ]
        if len(patches) > len(commits):
            raise SeriesError(f"the tree has {len(commits)} commits, PR {pr.number} needs more")
        commit = commits[len(patches) - 1] if patches else base
        changed = _names(tree, previous, commit) if commit != previous else frozenset()
        present = frozenset(
            f for f in _names(tree, "--diff-filter=A", base, commit) if is_test_file(f)
        )
        boundaries.append(Boundary(pr, patches, commit, changed, present))
        previous = commit
    return boundaries


def _prs(numbers: list[int]) -> str:
    return ("PR " if len(numbers) == 1 else "PRs ") + ", ".join(map(str, numbers))


def select_tests(
    history: Sequence[tuple[int, frozenset[str]]],
    present: frozenset[str],
    package_dir: str,
) -> Selection:
    """The test files to run at the end of the last PR of ``history`` ((number, files
    changed) of each PR so far, in order), of the test files ``present`` there.
    """

    def code(files: frozenset[str]) -> set[str]:
        return {f for f in files if f.startswith(package_dir + "/") and not is_test_file(f)}

    number, changed = history[-1]
    everything = Selection(sorted(present), f"all {len(present)} test files")
    if not present:
        return Selection([], "no test files")
    touched_global = sorted(changed & GLOBAL_FILES)
    if touched_global:
        return Selection(
            everything.files, f"{everything.why}: PR {number} changes {touched_global[0]}"
        )
    own = present & {f for f in changed if is_test_file(f)}
    mine = code(changed)
    related: list[int] = []
    shared: set[str] = set()
    for earlier, files in history[:-1]:
        tests = present & {f for f in files if is_test_file(f)}
        if tests and mine & code(files):
            related.append(earlier)
            shared |= tests
    selected = own | shared
    if not selected:
        if mine:
            return Selection(
                everything.files, f"{everything.why}: no test file relates to PR {number}'s code"
            )
        return Selection([], f"PR {number} changes no code and no test file")
    parts = []
    if own:
        parts.append(f"PR {number}'s own")
    if related:
        verb = "changes" if len(related) == 1 else "change"
        parts.append(f"those of {_prs(related)}, which {verb} the same code")
    why = f"{len(selected)} of {len(present)} test files: " + ", and ".join(parts)
    return Selection(sorted(selected), why)


def run_boundaries(
    project: Project,
    prs: Sequence[PullRequest],
    tree: Path,
    extra: Sequence[str],
    console: Console,
    *,
    all_tests: bool = False,
    last_runs_all: bool = False,
) -> Result:
    """Build, install and test the end of each of ``prs`` (a stack from its first pull
    request), one line each; ``tree`` holds the whole series and is checked out at each
    end in turn. With ``last_runs_all`` the last of ``prs`` runs every test file there.
    """
    package_dir = project.base.package.replace("-", "_")
    boundaries = plan(project, prs, tree)
    history: list[tuple[int, frozenset[str]]] = []
    failed: list[int] = []
    passed: list[int] = []
    none_selected: list[int] = []
    for i, b in enumerate(boundaries):
        timer = Timer()
        history.append((b.pr.number, b.changed))
        git(tree, "checkout", "--quiet", "--force", "--detach", b.commit)
        wheel = get_wheel(project, b.patches, tree, console)
        ensure_env(
            project,
            project.boundary_venv_dir,
            project.test_requirements,
            list(project.base.install_with),
            wheel.path,
            console=console,
        )
        if all_tests or (last_runs_all and i == len(boundaries) - 1):
            selection = Selection(sorted(b.present), f"all {len(b.present)} test files")
        else:
            selection = select_tests(history, b.present, package_dir)
        how = f"{selection.why}; wheel {'cached' if wheel.cached else 'built'}"
        log = fresh_log(project.logs_dir / f"pr-{b.pr.number:02d}.log")
        name = f"PR {b.pr.number}"
        if not selection.files:
            console.step(name, Result(Status.EMPTY, f"no tests to run ({how})"), timer.seconds)
            continue
        ran = run_pytest(
            project,
            project.boundary_venv_dir,
            tree,
            [tree / f for f in selection.files],
            extra,
            log,
            console,
            version=wheel.version,
        )
        result = pytest_result(ran, selecting=bool(extra))
        if result.status is Status.FAILED:
            failed.append(b.pr.number)
        elif result.status is Status.NONE_SELECTED:
            none_selected.append(b.pr.number)
        else:
            passed.append(b.pr.number)
        console.step(
            name,
            Result(result.status, f"{result.detail} ({how})"),
            timer.seconds,
            project.rel(log),
            ran.output,
        )
    if failed:
        return Result(Status.FAILED, f"tests fail at the end of {_prs(failed)}")
    if not passed:
        return Result(Status.NONE_SELECTED if none_selected else Status.EMPTY)
    detail = f"{len(boundaries)} pull requests"
    if none_selected:
        detail += f"; no tests selected at the end of {_prs(none_selected)}"
    return Result(Status.PASSED, detail)
