"""Apply the series to a git checkout of dask/distributed: the pull-request branches."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .git import (
    git,
    git_text,
    is_repo_root,
    operation_in_progress,
    status_entries,
)
from .project import Project, SeriesError
from .series import PullRequest, pull_requests, read_series
from .tree import apply_patches

# The last paragraphs of a patch's message, from a line that starts like this, tell
# this repository when the patch can go; they are not for upstream's history.
_STILL_NEEDED = re.compile(r"^Still needed while\b", re.MULTILINE)


@dataclass
class Branch:
    name: str
    pr: PullRequest
    commits: int


def upstream_message(message: str) -> str:
    """A patch's commit message as upstream gets it: without the "Still needed while"
    note that this repository keeps.
    """
    m = _STILL_NEEDED.search(message)
    if m:
        message = message[: m.start()]
    return message.rstrip() + "\n"


def branch_names(prs: list[PullRequest], prefix: str) -> list[str]:
    """One branch per pull request, ``<prefix>/<nn>-<title>``."""
    names = []
    for pr in prs:
        slug = re.sub(r"[^a-z0-9]+", "-", pr.title.lower()).strip("-")
        if len(slug) > 50:
            # Cut at a word boundary
            slug = slug[:51].rsplit("-", 1)[0]
        names.append(f"{prefix}/{pr.number:02d}-{slug}")
    return names


def upstream(project: Project, checkout: Path, prefix: str) -> tuple[list[Branch], str]:
    """Create one branch per pull request of the stack in ``checkout``, each on top of
    the one before, the first at HEAD; each patch is one commit (``git am -3``).

    The commits are the user's: author and committer come from the user's git
    configuration, and the "Still needed while" notes are left out of the messages.
    A series without ``# PR`` lines is one pull request. On failure the checkout is
    put back where it was and the branches are deleted.
    """
    series = read_series(project)
    prs = pull_requests(series, project.rel(project.series_file)) or [
        PullRequest(1, "worker pinning", list(series.entries))
    ]
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
    names = branch_names(prs, prefix)
    for name in [prefix, *names]:
        if git(checkout, "check-ref-format", "--branch", name, user=True, check=False).returncode:
            raise SeriesError(f"'{name}' is not a valid branch name")
        if not git(
            checkout,
            "rev-parse",
            "--verify",
            "--quiet",
            f"refs/heads/{name}",
            user=True,
            check=False,
        ).returncode:
            raise SeriesError(f"branch {name} already exists in {checkout}")
    start = git_text(checkout, "rev-parse", "HEAD", user=True)
    previous = (
        git(checkout, "symbolic-ref", "--quiet", "--short", "HEAD", user=True, check=False)
        .stdout.decode()
        .strip()
        or start
    )
    branches: list[Branch] = []
    try:
        for pr, name in zip(prs, names, strict=True):
            git(checkout, "checkout", "--quiet", "-b", name, user=True)
            branches.append(Branch(name, pr, len(pr.entries)))
            for entry in pr.entries:
                apply_patches(checkout, [project.patches_dir / entry.name], upstream=True)
                _make_commit_upstream(checkout)
    except SeriesError:
        git(checkout, "checkout", "--quiet", "--force", previous, user=True, check=False)
        for branch in branches:
            git(checkout, "branch", "--quiet", "-D", branch.name, user=True, check=False)
        raise
    return branches, start


def _make_commit_upstream(checkout: Path) -> None:
    """Give the last commit the user's identity and upstream's message."""
    message = upstream_message(git_text(checkout, "log", "-1", "--format=%B", user=True))
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write(message)
        f.flush()
        git(
            checkout,
            "commit",
            "--quiet",
            "--amend",
            "--no-verify",
            "--reset-author",
            "-F",
            f.name,
            user=True,
        )
