"""The project a command works on: its root, its pinned base and where things live."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

# Environment variable through which `seriestool test` tells its pytest plugin
# (seriestool.pytest_harness) which distributed version must be imported.
EXPECT_VERSION_ENV = "SERIESTOOL_EXPECT_VERSION"
# Set by `seriestool test PATH` only: the work tree whose code the tests must import
# (an editable install), instead of an installed build.
SOURCE_TREE_ENV = "SERIESTOOL_SOURCE_TREE"


class SeriesError(Exception):
    """A failure reported to the user as one line: ``seriestool: error: <message>``."""


@dataclass(frozen=True)
class Base:
    """The pristine upstream release the series applies to (``base.toml``)."""

    package: str
    version: str
    sdist: str
    sha256: str
    upstream_tag: str
    upstream_commit: str
    install_with: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


_REQUIRED = ("package", "version", "sdist", "sha256", "upstream_tag", "upstream_commit")


def load_base(path: Path) -> Base:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise SeriesError(f"{path.name} not found in {path.parent}") from None
    except tomllib.TOMLDecodeError as e:
        raise SeriesError(f"{path.name} is not valid TOML: {e}") from None
    values: dict[str, str] = {}
    for key in _REQUIRED:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise SeriesError(f"{path.name}: key '{key}' must be a non-empty string")
        values[key] = value
    sha = values["sha256"]
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise SeriesError(f"{path.name}: sha256 '{sha}' is not 64 lowercase hex digits")
    install_with = data.get("install_with", [])
    if not isinstance(install_with, list) or not all(isinstance(x, str) for x in install_with):
        raise SeriesError(f"{path.name}: key 'install_with' must be a list of strings")
    return Base(**values, install_with=tuple(install_with))


@dataclass(frozen=True)
class Project:
    """A checkout of this repository (or a fake one in tests)."""

    root: Path
    base: Base

    @classmethod
    def load(cls, root: Path) -> Project:
        root = root.resolve()
        return cls(root=root, base=load_base(root / "base.toml"))

    @property
    def patches_dir(self) -> Path:
        return self.root / "patches"

    @property
    def series_file(self) -> Path:
        return self.patches_dir / "series"

    @property
    def pull_requests_dir(self) -> Path:
        """One description per pull request of the upstream stack."""
        return self.root / "pull-requests"

    @property
    def build_dir(self) -> Path:
        """Scratch space outside git: sdist cache, work tree, temporary trees, logs."""
        return self.root / "build"

    @property
    def cache_dir(self) -> Path:
        return self.build_dir / "cache"

    @property
    def default_worktree(self) -> Path:
        return self.build_dir / "work"

    @property
    def dist_dir(self) -> Path:
        return self.root / "dist"

    @property
    def venv_dir(self) -> Path:
        return self.root / ".venv"

    @property
    def test_requirements(self) -> Path:
        return self.root / "requirements" / "test.txt"

    @property
    def lint_requirements(self) -> Path:
        return self.root / "requirements" / "lint.txt"

    @property
    def lint_venv_dir(self) -> Path:
        return self.build_dir / "lint-venv"

    @property
    def boundary_venv_dir(self) -> Path:
        """The series up to the end of one pull request of the stack at a time."""
        return self.build_dir / "boundary-venv"

    @property
    def build_venv_dir(self) -> Path:
        """The pinned build backend (requirements/build.txt) that builds the wheels."""
        return self.build_dir / "build-venv"

    @property
    def dev_venv_dir(self) -> Path:
        """An editable install of the work tree, for ``test PATH``."""
        return self.build_dir / "dev-venv"

    @property
    def docs_dir(self) -> Path:
        """Where ``docs`` writes the documentation the series adds or changes."""
        return self.build_dir / "docs"

    @property
    def logs_dir(self) -> Path:
        return self.build_dir / "logs"

    @property
    def build_constraints(self) -> Path:
        return self.root / "requirements" / "build.txt"

    def rel(self, path: Path) -> str:
        """``path`` relative to the root when it is inside it, for messages."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)
