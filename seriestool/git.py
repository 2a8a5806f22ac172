"""Running git: isolated from the user's configuration for the trees the tool owns."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from .project import SeriesError

# Identity and date of the pristine base commit and of every commit the tool creates,
# so the same sdist and series always give the same commit hashes.
TOOL_NAME = "seriestool"
TOOL_EMAIL = "seriestool@invalid"
TOOL_DATE = "2000-01-01T00:00:00+0000"

# Settings that change what `git format-patch` prints, pinned so that an export is
# byte-stable whatever the machine's git configuration says.
_PINNED_CONFIG = (
    "core.autocrlf=false",
    "core.quotePath=true",
    "diff.algorithm=myers",
    "diff.context=3",
    "diff.interHunkContext=0",
    "diff.mnemonicPrefix=false",
    "diff.noprefix=false",
    "diff.relative=false",
    "diff.renames=true",
    "diff.suppressBlankEmpty=false",
    "init.defaultBranch=main",
)


class GitError(SeriesError):
    def __init__(self, args: Sequence[str], output: str, returncode: int) -> None:
        self.args_ = list(args)
        self.output = output
        self.returncode = returncode
        last = last_line(output) or f"exit status {returncode}"
        super().__init__(f"git {' '.join(args)} failed: {last}")


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def tool_env() -> dict[str, str]:
    """Environment for git on trees the tool owns: no system/global config, fixed committer."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("GIT_") and key not in ("GIT_EXEC_PATH",):
            del env[key]
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_COMMITTER_NAME=TOOL_NAME,
        GIT_COMMITTER_EMAIL=TOOL_EMAIL,
        GIT_COMMITTER_DATE=TOOL_DATE,
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    return env


BASE_AUTHOR = {
    "GIT_AUTHOR_NAME": TOOL_NAME,
    "GIT_AUTHOR_EMAIL": TOOL_EMAIL,
    "GIT_AUTHOR_DATE": TOOL_DATE,
}


def git(
    cwd: Path,
    *args: str,
    user: bool = False,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run git in ``cwd``.

    By default as the tool (:func:`tool_env` plus the pinned config), for the trees the
    tool owns; with ``user=True`` with the user's own environment and configuration,
    for a checkout that belongs to the user. ``env`` adds variables.
    """
    cmd = ["git"]
    if user:
        full_env = dict(os.environ)
    else:
        full_env = tool_env()
        for item in _PINNED_CONFIG:
            cmd += ["-c", item]
    full_env.update(env or {})
    cmd += list(args)
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, check=False)
    if check and proc.returncode != 0:
        output = (proc.stdout + proc.stderr).decode(errors="replace")
        raise GitError(args, output, proc.returncode)
    return proc


def git_text(cwd: Path, *args: str, user: bool = False) -> str:
    return git(cwd, *args, user=user).stdout.decode().strip()


def is_repo_root(path: Path, *, user: bool = False) -> bool:
    if not path.is_dir():
        return False
    proc = git(path, "rev-parse", "--show-toplevel", user=user, check=False)
    if proc.returncode != 0:
        return False
    return Path(proc.stdout.decode().strip()).resolve() == path.resolve()


def status_entries(path: Path, *, user: bool = False) -> list[str]:
    """``git status --porcelain`` lines: modified, staged and untracked files."""
    out = git(path, "status", "--porcelain", "--untracked-files=all", user=user).stdout
    return [line for line in out.decode(errors="replace").splitlines() if line]


def operation_in_progress(path: Path, *, user: bool = False) -> str | None:
    """Name of an unfinished am/rebase/merge/cherry-pick in ``path``, if any."""
    git_dir = Path(git_text(path, "rev-parse", "--absolute-git-dir", user=user))
    for name, what in (
        ("rebase-apply", "git am or rebase"),
        ("rebase-merge", "git rebase"),
        ("MERGE_HEAD", "git merge"),
        ("CHERRY_PICK_HEAD", "git cherry-pick"),
    ):
        if (git_dir / name).exists():
            return what
    return None


_FAILED_FILE = (
    re.compile(r"^error: patch failed: (.+):\d+$"),
    re.compile(r"^error: (.+): patch does not apply$"),
    re.compile(r"^error: (.+): does not exist in index$"),
    re.compile(r"^error: (.+): already exists in (?:index|working directory)$"),
    re.compile(r"^error: (.+): does not match index$"),
    re.compile(r"^error: (.+): No such file or directory$"),
    re.compile(r"^error: (.+): wrong type$"),
    re.compile(r"^CONFLICT \([^)]*\): Merge conflict in (.+)$"),
)


def am_failure_reason(output: str) -> str:
    """The file (or else the reason) a failed ``git am`` names, for a one-line error."""
    lines = [line.strip() for line in output.splitlines()]
    for line in lines:
        for pattern in _FAILED_FILE:
            m = pattern.match(line)
            if m:
                return m.group(1)
    for line in lines:
        if line.startswith(("error: ", "fatal: ")):
            return line.split(": ", 1)[1]
    for line in lines:
        if line in ("Patch format detection failed.", "Patch is empty."):
            return line.rstrip(".").lower()
    return last_line(output) or "git am failed"
