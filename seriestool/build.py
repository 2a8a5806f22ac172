"""The patched wheel, built with pip from a fresh tree (never from the work tree)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .git import git, last_line
from .project import Project, SeriesError
from .series import build_label, listed_patches, read_patches
from .tree import temp_dir

# 2000-01-01T00:00:00Z, the date of the tool's commits: timestamps inside the wheel.
SOURCE_DATE_EPOCH = "946684800"


def wheel_version(project: Project, patches: list[Path] | None = None) -> str:
    """``<base version>+pins.<hash of the series>``: same series, same version.

    ``patches``: a part of the series, e.g. up to a pull request of the stack.
    """
    if patches is None:
        patches = listed_patches(project)
    return f"{project.base.version}+{build_label(read_patches(patches))}"


def build_wheel(project: Project, tree: Path, version: str | None = None) -> Path:
    """Build ``tree`` (pristine sdist + series, or the part of it that ``version`` was
    made from) into ``dist/``; return the wheel's path.
    """
    version = version or wheel_version(project)
    logs = project.build_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / "wheel.log"
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
        if project.build_constraints.exists():
            # Pins setuptools and setuptools-scm in pip's isolated build environment.
            env["PIP_CONSTRAINT"] = str(project.build_constraints)
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(src)]
        print(f"seriestool: building {project.base.package} {version}", flush=True)
        proc = subprocess.run(
            cmd, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
        )
        log.write_bytes(proc.stdout)
        if proc.returncode != 0:
            reason = last_line(proc.stdout.decode(errors="replace"))
            raise SeriesError(f"pip wheel failed ({project.rel(log)}): {reason}")
        wheels = sorted(out.glob("*.whl"))
        prefix = f"{project.base.package.replace('-', '_')}-{version}-"
        if len(wheels) != 1 or not wheels[0].name.startswith(prefix):
            names = ", ".join(w.name for w in wheels) or "no wheel"
            raise SeriesError(f"pip wheel made {names}; expected {prefix}*.whl")
        project.dist_dir.mkdir(exist_ok=True)
        dest = project.dist_dir / wheels[0].name
        wheels[0].replace(dest)
    return dest
