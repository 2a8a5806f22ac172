"""The patched wheel, built with pip from a fresh tree (never from the work tree), and
kept in ``build/cache/wheels/`` under a hash of everything it is built from.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .console import Console, fresh_log
from .git import git, last_line
from .project import Project, SeriesError
from .series import build_label, listed_patches, read_patches, series_digest
from .tree import patched_tree, temp_dir
from .venv import ensure_build_venv, venv_bin

# 2000-01-01T00:00:00Z, the date of the tool's commits: timestamps inside the wheel.
SOURCE_DATE_EPOCH = "946684800"
# How a tree becomes a wheel (see build_wheel); part of the cache key, so that a change
# here must come with a new recipe string.
BUILD_RECIPE = (
    f"pip wheel --no-deps --no-build-isolation in build-venv, checkout-index,"
    f" SOURCE_DATE_EPOCH={SOURCE_DATE_EPOCH}: 1"
)


def wheel_version(project: Project, patches: list[Path] | None = None) -> str:
    """``<base version>+pins.<hash of the series>``: same series, same version.

    ``patches``: a part of the series, e.g. up to a pull request of the stack.
    """
    if patches is None:
        patches = listed_patches(project)
    return f"{project.base.version}+{build_label(read_patches(patches))}"


def wheel_key(project: Project, patches: list[Path]) -> str:
    """sha256 over what a wheel is made of: the patches (names and contents, in order),
    ``base.toml`` (the sdist and its hash), the build constraints and the recipe.
    """
    h = hashlib.sha256(BUILD_RECIPE.encode() + b"\0")
    h.update(series_digest(read_patches(patches)).encode() + b"\0")
    for path in (project.root / "base.toml", project.build_constraints):
        data = path.read_bytes() if path.exists() else b"(missing)"
        h.update(path.name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


@dataclass(frozen=True)
class Wheel:
    path: Path
    version: str
    cached: bool


def _cache_entry(project: Project, version: str, key: str) -> Path:
    return project.cache_dir / "wheels" / f"{version}-{key[:16]}"


def _wheel_prefix(project: Project, version: str) -> str:
    return f"{project.base.package.replace('-', '_')}-{version}-"


def _cached(project: Project, entry: Path, version: str) -> Path | None:
    """The wheel in a complete cache entry (entries appear whole, by a rename)."""
    if not entry.is_dir():
        return None
    wheels = [p for p in entry.iterdir() if p.name.startswith(_wheel_prefix(project, version))]
    return wheels[0] if len(wheels) == 1 and wheels[0].name.endswith(".whl") else None


def cached_wheel(project: Project, patches: list[Path] | None = None) -> Wheel | None:
    """The cached wheel of the series (or of ``patches``), if there is one."""
    if patches is None:
        patches = listed_patches(project)
    version = wheel_version(project, patches)
    found = _cached(project, _cache_entry(project, version, wheel_key(project, patches)), version)
    return Wheel(found, version, True) if found else None


def get_wheel(
    project: Project,
    patches: list[Path] | None = None,
    tree: Path | None = None,
    console: Console | None = None,
) -> Wheel:
    """The wheel of the series (or of ``patches``): from the cache, else built from
    ``tree`` (which must hold exactly those patches) or from a new patched tree.
    """
    if patches is None:
        patches = listed_patches(project)
    version = wheel_version(project, patches)
    entry = _cache_entry(project, version, wheel_key(project, patches))
    found = _cached(project, entry, version)
    if found is not None:
        os.utime(entry)  # recently used: kept by prune_cache
        return Wheel(found, version, True)
    if tree is None:
        with patched_tree(project, patches) as new_tree:
            path = build_wheel(project, new_tree, version, entry, console)
    else:
        path = build_wheel(project, tree, version, entry, console)
    prune_cache(project)
    return Wheel(path, version, False)


# Wheels kept in build/cache/wheels/ (about 1 MB each), the most recently used first.
CACHE_KEEP = 64


def prune_cache(project: Project, keep: int = CACHE_KEEP) -> None:
    """Remove all but the ``keep`` most recently used cache entries."""
    root = project.cache_dir / "wheels"
    entries = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def pip_wheel_command(project: Project, src: Path, out: Path, console: Console) -> list[str]:
    """``pip wheel`` in ``build/build-venv``, which holds exactly the build backend that
    ``requirements/build.txt`` pins (the same wheel, byte for byte, as pip's isolated
    build environment with those pins, without setting one up and asking the index
    for each build); without that file, pip's own isolated build.
    """
    options = ["--no-deps", "-w", str(out), str(src)]
    if not project.build_constraints.exists():
        return [sys.executable, "-m", "pip", "wheel", *options]
    ensure_build_venv(project, console)
    python = venv_bin(project.build_venv_dir, "python")
    return [str(python), "-m", "pip", "wheel", "--no-build-isolation", *options]


def build_wheel(
    project: Project,
    tree: Path,
    version: str,
    entry: Path,
    console: Console | None = None,
) -> Path:
    """Build ``tree`` (pristine sdist + the patches ``version`` was made from) and store
    the wheel as the cache entry ``entry``; return the wheel's path.
    """
    console = console or Console()
    log = fresh_log(project.build_dir / "logs" / "wheel.log")
    with temp_dir(project, "wheel") as tmp:
        src, out = tmp / "src", tmp / "out"
        # The files of the patched tree without .git, like an sdist: setuptools-scm then
        # takes the version from the environment and no file list from git.
        git(tree, "checkout-index", "--all", f"--prefix={src}/")
        env = dict(os.environ)
        env.update(
            SETUPTOOLS_SCM_PRETEND_VERSION=version,
            SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH,
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )
        ran = console.run(pip_wheel_command(project, src, out, console), tmp, log, env)
        if ran.returncode != 0:
            console.show(ran.output)
            reason = last_line(ran.output)
            raise SeriesError(f"pip wheel failed ({project.rel(log)}): {reason}")
        wheels = sorted(out.glob("*.whl"))
        prefix = _wheel_prefix(project, version)
        if len(wheels) != 1 or not wheels[0].name.startswith(prefix):
            names = ", ".join(w.name for w in wheels) or "no wheel"
            raise SeriesError(f"pip wheel made {names}; expected {prefix}*.whl")
        entry.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}-"))
        try:
            wheels[0].replace(staged / wheels[0].name)
            staged.replace(entry)
        except OSError:
            shutil.rmtree(staged, ignore_errors=True)
            # Another run stored the same entry meanwhile: same inputs, same wheel.
            if _cached(project, entry, version) is None:
                raise
    return entry / wheels[0].name


def publish(project: Project, wheel: Wheel) -> Path:
    """A copy of ``wheel`` in ``dist/`` (written whole, by a rename)."""
    project.dist_dir.mkdir(exist_ok=True)
    dest = project.dist_dir / wheel.path.name
    if dest.exists() and dest.read_bytes() == wheel.path.read_bytes():
        return dest
    fd, tmp = tempfile.mkstemp(dir=project.dist_dir, prefix=f".{dest.name}.")
    os.close(fd)
    try:
        shutil.copyfile(wheel.path, tmp)
        Path(tmp).replace(dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
