"""Running the series' tests with pytest and the harness, quietly, into a log."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .console import Console, Ran
from .project import EXPECT_VERSION_ENV, SOURCE_TREE_ENV, Project
from .tree import temp_dir, touched_files
from .venv import venv_bin


def is_test_file(name: str) -> bool:
    """``test_*.py``: a file pytest collects tests from."""
    return Path(name).name.startswith("test_") and name.endswith(".py")


def series_test_files(tree: Path) -> list[Path]:
    """The ``test_*.py`` files the series adds."""
    return [tree / f for f in touched_files(tree, added_only=True) if is_test_file(f)]


def pytest_command(env_dir: Path) -> list[str]:
    """pytest of ``env_dir`` with the harness in place of the sdist's conftest.py."""
    return [str(venv_bin(env_dir, "pytest")), "--noconftest", "-p", "seriestool.pytest_harness"]


def run_pytest(
    project: Project,
    env_dir: Path,
    tree: Path,
    tests: Sequence[Path],
    extra: Sequence[str],
    log: Path,
    console: Console,
    *,
    version: str | None = None,
    source_tree: Path | None = None,
) -> Ran:
    """``tests`` of ``tree`` with the pytest of ``env_dir``, upstream's pytest settings
    (the tree's pyproject.toml) and the harness, which checks that distributed is the
    installed build ``version`` (or, with ``source_tree``, that tree's code).
    """
    env = dict(os.environ)
    # Only the harness comes from this repository; ``distributed`` comes from the venv.
    env["PYTHONPATH"] = str(project.root)
    env.pop(EXPECT_VERSION_ENV, None)
    env.pop(SOURCE_TREE_ENV, None)
    if version is not None:
        env[EXPECT_VERSION_ENV] = version
    if source_tree is not None:
        env[SOURCE_TREE_ENV] = str(source_tree)
    cmd: list[str | Path] = [
        *pytest_command(env_dir),
        "--import-mode=importlib",
        "-c",
        tree / "pyproject.toml",
        "--rootdir",
        tree,
        # upstream's addopts say --color=yes; logs want plain text
        "--color=auto",
        "-p",
        "no:cacheprovider",
        *extra,
        *tests,
    ]
    # Run outside the tree: a subprocess started with cwd on sys.path must not find
    # the tree's distributed/ either.
    with temp_dir(project, "pytest") as cwd:
        return console.run(cmd, cwd, log, env)
