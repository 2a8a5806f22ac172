"""Apply the series to a git checkout of dask/distributed: the branch for the upstream PR."""

from __future__ import annotations

from pathlib import Path

from .git import (
    git,
    git_text,
    is_repo_root,
    operation_in_progress,
    status_entries,
)
from .project import Project, SeriesError
from .series import listed_patches
from .tree import apply_patches


def upstream(project: Project, checkout: Path, branch: str) -> tuple[int, str]:
    """Create ``branch`` at HEAD of ``checkout`` with one commit per patch (``git am -3``).

    Uses the user's own git configuration (the commits are theirs). On failure the
    checkout is put back where it was and the branch is deleted.
    """
    patches = listed_patches(project)
    if not is_repo_root(checkout, user=True):
        raise SeriesError(f"{checkout} is not the top of a git checkout")
    op = operation_in_progress(checkout, user=True)
    if op:
        raise SeriesError(f"checkout {checkout} has an unfinished {op}")
    dirty = status_entries(checkout, user=True)
    if dirty:
        raise SeriesError(
            f"checkout {checkout} has uncommitted changes or untracked files: {dirty[0][3:]}"
        )
    if git(checkout, "check-ref-format", "--branch", branch, user=True, check=False).returncode:
        raise SeriesError(f"'{branch}' is not a valid branch name")
    if not git(
        checkout, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", user=True, check=False
    ).returncode:
        raise SeriesError(f"branch {branch} already exists in {checkout}")
    start = git_text(checkout, "rev-parse", "HEAD", user=True)
    previous = (
        git(checkout, "symbolic-ref", "--quiet", "--short", "HEAD", user=True, check=False)
        .stdout.decode()
        .strip()
        or start
    )
    git(checkout, "checkout", "--quiet", "-b", branch, user=True)
    try:
        apply_patches(checkout, patches, upstream=True)
    except SeriesError:
        git(checkout, "checkout", "--quiet", "--force", previous, user=True, check=False)
        git(checkout, "branch", "--quiet", "-D", branch, user=True, check=False)
        raise
    return len(patches), start
