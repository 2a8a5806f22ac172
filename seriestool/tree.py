"""Git trees of the pristine sdist plus the series: import, export, check."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .git import (
    BASE_AUTHOR,
    GitError,
    am_failure_reason,
    git,
    git_text,
    is_repo_root,
    operation_in_progress,
    status_entries,
)
from .project import Project, SeriesError
from .sdist import fetch_sdist, unpack_sdist
from .series import (
    PullRequest,
    listed_patches,
    parse_series,
    pull_requests,
    read_patches,
    read_series,
    render_series,
    series_digest,
    write_atomic,
)

BASE_TAG = "base"
IMPORTED_MARK = "seriestool-imported"

# Options that make `git format-patch` output a pure function of the commits.
FORMAT_PATCH = (
    "format-patch",
    "--keep-subject",  # imported with `git am --keep`: no "[PATCH n/m]" churn
    "--no-stat",  # the stat adds nothing git cannot recompute, and churns
    "--no-signature",  # no git version at the bottom
    "--zero-commit",  # no commit hash in the "From " line
    "--full-index",  # full blob ids, so `git am -3` can fall back to a 3-way merge
    "--no-numbered",
    "--no-cover-letter",
    "--no-thread",
    "--no-notes",
    "--encode-email-headers",
)

Patch = tuple[str, bytes]


def make_pristine(project: Project, dest: Path) -> None:
    """``dest`` (new or empty) becomes a git tree of the sdist, one commit tagged ``base``."""
    sdist = fetch_sdist(project)
    unpack_sdist(sdist, dest)
    git(dest, "init", "--quiet", "--initial-branch=main")
    # Everything in the sdist, including what its own .gitignore names (egg-info, _version.py).
    git(dest, "add", "--all", "--force", ".")
    git(
        dest,
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        f"{project.base.package} {project.base.version} (pristine sdist)\n\n"
        f"{project.base.sdist} sha256 {project.base.sha256}\n"
        f"upstream tag {project.base.upstream_tag}, commit {project.base.upstream_commit}",
        env=BASE_AUTHOR,
    )
    git(dest, "tag", BASE_TAG)
    exclude = Path(git_text(dest, "rev-parse", "--absolute-git-dir")) / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    with exclude.open("a") as f:
        f.write("__pycache__/\n.pytest_cache/\n.hypothesis/\n.mypy_cache/\n.ruff_cache/\n")


def apply_patches(tree: Path, patches: list[Path], *, upstream: bool = False) -> None:
    """``git am`` each patch as one commit; the error names the patch and the file.

    With ``upstream``, ``tree`` is the user's checkout of dask/distributed: patches are
    applied three-way (``-3``) with the user's git configuration, and a failed ``am`` is
    aborted.
    """
    am = ["am", "-3"] if upstream else ["am"]
    for patch in patches:
        proc = git(tree, *am, "--keep", "--keep-cr", str(patch), user=upstream, check=False)
        if proc.returncode != 0:
            reason = am_failure_reason((proc.stdout + proc.stderr).decode(errors="replace"))
            if upstream:
                git(tree, "am", "--abort", user=True, check=False)
            where = f" to {tree}" if upstream else ""
            raise SeriesError(f"patch {patch.name} does not apply{where}: {reason}")


@contextmanager
def temp_dir(project: Project, prefix: str) -> Iterator[Path]:
    project.build_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=project.build_dir, prefix=f".{prefix}-") as tmp:
        yield Path(tmp)


@contextmanager
def patched_tree(project: Project, patches: list[Path] | None = None) -> Iterator[Path]:
    """A throw-away tree: pristine sdist + every listed patch (or ``patches``), as
    commits.
    """
    if patches is None:
        patches = listed_patches(project)
    with temp_dir(project, "tree") as tmp:
        tree = tmp / "tree"
        tree.mkdir()
        make_pristine(project, tree)
        apply_patches(tree, patches)
        yield tree


def _subject_to_name(subject: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", subject.lower()).strip("-")
    return (slug[:64].rstrip("-") or "patch") + ".patch"


def export_commits(tree: Path) -> list[Patch]:
    """``base..HEAD`` of ``tree`` as normalised patches, named from their subjects."""
    if git(
        tree, "rev-parse", "--verify", "--quiet", f"refs/tags/{BASE_TAG}", check=False
    ).returncode:
        raise SeriesError(f"{tree} has no '{BASE_TAG}' tag: not a tree made by seriestool import")
    merges = git_text(tree, "rev-list", "--merges", f"{BASE_TAG}..HEAD")
    if merges:
        raise SeriesError(
            f"commit {merges.split()[0][:12]} in {tree} is a merge; the series must be linear"
        )
    log = git_text(tree, "log", "--reverse", "--format=%h %s", f"{BASE_TAG}..HEAD")
    commits = [line.split(" ", 1) for line in log.splitlines() if line]
    with tempfile.TemporaryDirectory(prefix="seriestool-export-") as tmp:
        git(tree, *FORMAT_PATCH, "-o", tmp, f"{BASE_TAG}..HEAD")
        files = sorted(Path(tmp).iterdir())
        if len(files) != len(commits):
            raise SeriesError(
                f"{tree}: {len(commits)} commits but {len(files)} patches; is one commit empty?"
            )
        result: list[Patch] = []
        used: set[str] = set()
        for (_, subject), path in zip(commits, files, strict=True):
            name = _subject_to_name(subject)
            stem, n = name[: -len(".patch")], 2
            while name in used or name == "series.patch":
                name, n = f"{stem}-{n}.patch", n + 1
            used.add(name)
            result.append((name, path.read_bytes()))
    return result


def write_export(project: Project, patches: list[Patch]) -> list[str]:
    """Make patches/ hold exactly ``patches``, the series' upstream-only patches, and
    series; return what changed.
    """
    series = read_series(project)
    changed: list[str] = []
    new_names = {name for name, _ in patches}
    new_names.update(e.name for e in series.entries if e.upstream_only)
    for name, data in patches:
        if write_atomic(project.patches_dir / name, data):
            changed.append(name)
    text = render_series(series, [name for name, _ in patches])
    if write_atomic(project.series_file, text.encode()):
        changed.append("series")
    for stale in sorted(project.patches_dir.glob("*.patch")):
        if stale.name not in new_names:
            stale.unlink()
            changed.append(f"{stale.name} (removed)")
    return changed


def _assert_clean(tree: Path, what: str) -> None:
    op = operation_in_progress(tree)
    if op:
        raise SeriesError(f"{what} has an unfinished {op}")
    dirty = status_entries(tree)
    if dirty:
        raise SeriesError(f"{what} has uncommitted changes or untracked files: {dirty[0][3:]}")


def export(project: Project, worktree: Path) -> list[str]:
    if not is_repo_root(worktree):
        raise SeriesError(f"work tree {project.rel(worktree)} does not exist; run import first")
    _assert_clean(worktree, f"work tree {project.rel(worktree)}")
    patches = export_commits(worktree)
    changed = write_export(project, patches)
    _mark_imported(worktree, patches)
    return changed


def _mark_imported(worktree: Path, patches: list[Patch]) -> None:
    git_dir = Path(git_text(worktree, "rev-parse", "--absolute-git-dir"))
    (git_dir / IMPORTED_MARK).write_text(series_digest(patches) + "\n")


def worktree_note(project: Project, worktree: Path) -> str | None:
    """A reminder, when the work tree holds what patches/ does not: ``check`` and
    ``test`` build patches/, not the work tree. None when they agree or there is no
    work tree.
    """
    if not is_repo_root(worktree):
        return None
    where = project.rel(worktree)
    try:
        head = series_digest(export_commits(worktree))
        current = series_digest(read_patches(listed_patches(project)))
        dirty = status_entries(worktree)
    except SeriesError:
        return None
    git_dir = Path(git_text(worktree, "rev-parse", "--absolute-git-dir"))
    mark = git_dir / IMPORTED_MARK
    imported = mark.read_text().strip() if mark.exists() else None
    if head != current and head == imported:
        return f"{where} is older than patches/ (import updates it); this run tests patches/"
    if head != current:
        return f"{where} has commits not exported to patches/ (run export); this run tests patches/"
    if dirty:
        return f"{where} has uncommitted changes, not in patches/; this run tests patches/"
    return None


def _assert_replaceable(project: Project, worktree: Path) -> None:
    """Refuse to replace a work tree that holds work not yet in patches/."""
    if not worktree.exists():
        return
    if not is_repo_root(worktree):
        if worktree.is_dir() and not any(worktree.iterdir()):
            return
        raise SeriesError(
            f"{project.rel(worktree)} exists and is not a seriestool work tree; move it away"
        )
    _assert_clean(worktree, f"work tree {project.rel(worktree)}")
    patches = export_commits(worktree)
    digest = series_digest(patches)
    git_dir = Path(git_text(worktree, "rev-parse", "--absolute-git-dir"))
    mark = git_dir / IMPORTED_MARK
    imported = mark.read_text().strip() if mark.exists() else None
    current = series_digest(read_patches(listed_patches(project)))
    if digest not in (imported, current):
        raise SeriesError(
            f"work tree {project.rel(worktree)} has commits not exported to patches/;"
            " run export first, or import --force to discard them"
        )


def import_(project: Project, worktree: Path, *, force: bool = False) -> int:
    """(Re)create ``worktree``; the old one is replaced only once the new one is complete."""
    patches = listed_patches(project)
    if not force:
        _assert_replaceable(project, worktree)
    worktree.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(dir=worktree.parent, prefix=f".{worktree.name}-new-"))
    try:
        make_pristine(project, new)
        apply_patches(new, patches)
        _mark_imported(new, export_commits(new))
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    if worktree.exists():
        old = Path(tempfile.mkdtemp(dir=worktree.parent, prefix=f".{worktree.name}-old-"))
        worktree.replace(old / worktree.name)
        new.replace(worktree)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.replace(worktree)
    return len(patches)


_DIFF = re.compile(r"^diff --git a/(.+) b/(.+)$")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _hunks(data: bytes) -> dict[str, list[tuple[int, int, int, int]]]:
    result: dict[str, list[tuple[int, int, int, int]]] = {}
    current: str | None = None
    for raw in data.splitlines():
        line = raw.decode(errors="replace")
        m = _DIFF.match(line)
        if m:
            current = m.group(2)
            result[current] = []
            continue
        h = _HUNK.match(line)
        if h and current is not None:
            a, b, c, d = (int(g) if g is not None else 1 for g in h.groups())
            result[current].append((a, b, c, d))
    return result


def find_offset(original: bytes, applied: bytes) -> str | None:
    """A message when ``applied`` (re-export) moved a hunk of ``original``; else None."""
    want, got = _hunks(original), _hunks(applied)
    for path, hunks in want.items():
        actual = got.get(path)
        if actual is None or len(actual) != len(hunks):
            continue
        for (a, b, _, d), (a2, b2, _, d2) in zip(hunks, actual, strict=True):
            if (b, d) == (b2, d2) and a != a2:
                return f"{path} (hunk written for line {a} applies at line {a2})"
    return None


def check(project: Project) -> int:
    """Listing, clean apply (no offset), byte-stable re-export, the pull-request stack
    and its descriptions; returns the patch count.
    """
    with patched_tree(project) as tree:
        return check_tree(project, tree)


def check_tree(project: Project, tree: Path) -> int:
    """:func:`check`, with ``tree`` the ``patched_tree`` of the series (left as it is)."""
    originals = read_patches(listed_patches(project))
    series = read_series(project)
    prs = pull_requests(series, project.rel(project.series_file))
    exported = export_commits(tree)
    for path in listed_patches(project, upstream_only=True):
        _check_upstream_only(path, tree)
    for (name, data), (_, again) in zip(originals, exported, strict=True):
        offset = find_offset(data, again)
        if offset:
            raise SeriesError(f"patch {name} applies only with an offset: {offset}")
    for (name, data), (new_name, again) in zip(originals, exported, strict=True):
        if new_name != name:
            raise SeriesError(
                f"patch {name} would be exported as {new_name} (names come from the"
                " commit subject); run import and export"
            )
        if data != again:
            raise SeriesError(
                f"patch {name} differs from its export after a fresh import; run import and export"
            )
    series_text = project.series_file.read_text()
    if render_series(parse_series(series_text), [n for n, _ in exported]) != series_text:
        raise SeriesError(f"{project.rel(project.series_file)} differs from its export")
    for pr in prs:
        check_description(project, pr)
    return len(originals)


def _check_upstream_only(path: Path, tree: Path) -> None:
    """An upstream-only patch changes files that the sdist does not ship, and only
    those (a change to a file of the sdist belongs in a patch of the series), and its
    subject has no ``[PATCH]`` prefix (``git am --keep`` would keep it).
    """
    data = path.read_bytes()
    files = list(_hunks(data))
    if not files:
        raise SeriesError(f"upstream-only patch {path.name} changes no file")
    subject = re.search(rb"^Subject: (.*)$", data, re.MULTILINE)
    if subject is None or subject.group(1).startswith(b"[PATCH"):
        raise SeriesError(
            f"upstream-only patch {path.name} needs a subject without '[PATCH]':"
            " write it with git format-patch --keep-subject"
        )
    for name in files:
        if (tree / name).exists():
            raise SeriesError(
                f"upstream-only patch {path.name} changes {name}, which the sdist has;"
                " make it a patch of the series"
            )


# Upstream's contribution policy (docs/source/develop.rst, "Automated Contributions
# and AI Policy", and .agents/skills/open-pr/SKILL.md): a pull request prepared with
# automated tools is a draft whose title starts with this prefix and whose
# description starts with this warning, until a person has reviewed and rewritten it.
PR_TITLE_PREFIX = "[unsupervised AI] "
PR_WARNING = (
    "> [!WARNING]\n"
    "> This PR was written autonomously by an AI agent and has not been reviewed\n"
    "> by a human yet. Maintainers should ignore it until the human author has **reviewed,\n"
    "> understood, and approved** everything that the AI agent wrote.\n"
)


def description_file(project: Project, pr: PullRequest) -> Path:
    """``pull-requests/<nn>-*.md``: the description of a pull request of the stack."""
    found = sorted(project.pull_requests_dir.glob(f"{pr.number:02d}-*.md"))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise SeriesError(
            f"PR {pr.number} has {what} description {project.rel(project.pull_requests_dir)}"
            f"/{pr.number:02d}-*.md; it needs one"
        )
    return found[0]


def check_description(project: Project, pr: PullRequest) -> None:
    """The description starts with the title, with upstream's prefix, then the warning."""
    path = description_file(project, pr)
    lines = path.read_text().splitlines(keepends=True)
    title = f"# {PR_TITLE_PREFIX}{pr.title}\n"
    if not lines or lines[0] != title:
        raise SeriesError(f"{project.rel(path)} must start with the line {title.strip()!r}")
    body = "".join(lines[1:]).lstrip("\n")
    if not body.startswith(PR_WARNING):
        raise SeriesError(
            f"{project.rel(path)} must go on with upstream's warning for AI-written PRs"
            " (see seriestool.tree.PR_WARNING)"
        )


def touched_files(tree: Path, *, added_only: bool = False) -> list[str]:
    """Files the series adds or modifies (relative to the tree), sorted."""
    try:
        out = git_text(
            tree,
            "diff",
            "--name-only",
            f"--diff-filter={'A' if added_only else 'AMR'}",
            f"{BASE_TAG}..HEAD",
        )
    except GitError as e:
        raise SeriesError(f"cannot list the files the series touches: {e}") from None
    return sorted(line for line in out.splitlines() if line)
