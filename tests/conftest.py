"""Fake projects: a tiny sdist, a base.toml pinning it, a pre-seeded cache. No network."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from seriestool.cli import main
from seriestool.project import Project

LINES = "".join(f"line {i}\n" for i in range(1, 21))
FILES = {"a.txt": LINES, "b.txt": "alpha\nbeta\ngamma\n", "pkg/__init__.py": "X = 1\n"}
SERIES_HEADER = "# test series\n\n"
DEV = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]


def make_sdist(path: Path, files: dict[str, str], root: str = "pkg-1.0") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 1_000_000_000
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def write_project(root: Path, files: dict[str, str] = FILES) -> Project:
    (root / "patches").mkdir(parents=True)
    (root / "patches" / "series").write_text(SERIES_HEADER)
    cache = root / "build" / "cache"
    cache.mkdir(parents=True)
    sha = hashlib.sha256(make_sdist(cache / "pkg-1.0.tar.gz", files)).hexdigest()
    (root / "base.toml").write_text(
        'package = "pkg"\nversion = "1.0"\nsdist = "pkg-1.0.tar.gz"\n'
        f'sha256 = "{sha}"\nupstream_tag = "1.0"\nupstream_commit = "abc1234"\n'
    )
    return Project.load(root)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return write_project(tmp_path / "proj")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *DEV, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def commit(tree: Path, subject: str, changes: dict[str, str]) -> None:
    for name, text in changes.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", subject)


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``python3 -m seriestool ARGS`` on the fake project: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main(list(args), root=project.root)
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture
def with_patches(project: Project, cli: Cli) -> Project:
    """The fake project with two exported patches: change-a.patch, add-c.patch."""
    assert cli("import")[0] == 0
    work = project.default_worktree
    commit(work, "Change a", {"a.txt": LINES.replace("line 10\n", "line ten\n")})
    commit(work, "Add c", {"c.txt": "new\n", "pkg/tests/test_c.py": "def test_c():\n    pass\n"})
    rc, _, err = cli("export")
    assert rc == 0, err
    return project
