"""The pinned sdist: download it with pip, verify its sha256, unpack it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from .git import last_line
from .project import Project, SeriesError


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(project: Project, path: Path) -> None:
    """Raise (and drop the file) unless ``path`` has the pinned sha256."""
    actual = sha256_file(path)
    expected = project.base.sha256
    if actual != expected:
        path.unlink()
        raise SeriesError(
            f"sdist {project.rel(path)} has sha256 {actual}, expected {expected}"
            " (base.toml); the file was removed"
        )


def pip_download_command(project: Project, dest: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-binary",
        ":all:",
        project.base.requirement,
        "-d",
        str(dest),
    ]


def fetch_sdist(project: Project) -> Path:
    """The verified sdist in ``build/cache/``, downloaded with pip when not cached."""
    cached = project.cache_dir / project.base.sdist
    if cached.exists():
        _verify(project, cached)
        return cached
    project.cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=project.cache_dir, prefix=".download-") as tmp:
        cmd = pip_download_command(project, Path(tmp))
        print(f"seriestool: downloading {project.base.requirement} with pip", flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            reason = last_line(proc.stderr) or last_line(proc.stdout)
            raise SeriesError(f"pip download {project.base.requirement} failed: {reason}")
        got = Path(tmp) / project.base.sdist
        if not got.exists():
            names = ", ".join(sorted(p.name for p in Path(tmp).iterdir())) or "nothing"
            raise SeriesError(
                f"pip download {project.base.requirement} gave {names}, not {project.base.sdist}"
            )
        _verify(project, got)
        got.replace(cached)
    return cached


def unpack_sdist(sdist: Path, dest: Path) -> None:
    """Unpack the sdist's single top-level directory as the contents of ``dest``."""
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".unpack-") as tmp:
        try:
            with tarfile.open(sdist) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as e:
            raise SeriesError(f"cannot unpack {sdist.name}: {e}") from None
        roots = list(Path(tmp).iterdir())
        if len(roots) != 1 or not roots[0].is_dir():
            raise SeriesError(f"sdist {sdist.name} does not have one top-level directory")
        dest.mkdir(exist_ok=True)
        for item in roots[0].iterdir():
            shutil.move(str(item), dest / item.name)
