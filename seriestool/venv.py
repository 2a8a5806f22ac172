"""Virtual environments: ``.venv`` (patched wheel + test tools), ``build/lint-venv``
(mypy), ``build/boundary-venv`` (the stack's pull requests) and ``build/dev-venv``
(an editable install of the work tree).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import venv
from pathlib import Path

from .console import Console, Result, Status, fresh_log
from .git import git, status_entries
from .project import Project, SeriesError

STAMP = ".seriestool-installed.json"


def venv_bin(env_dir: Path, name: str) -> Path:
    return env_dir / "bin" / name


def _python_says(env_dir: Path, code: str) -> str | None:
    proc = subprocess.run(
        [str(venv_bin(env_dir, "python")), "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _installed_version(env_dir: Path, package: str) -> str | None:
    return _python_says(env_dir, f"import importlib.metadata as m; print(m.version({package!r}))")


def _imported_from(env_dir: Path, module: str) -> str | None:
    """Where ``module`` would be imported from, without importing it."""
    code = f"import importlib.util as u; s = u.find_spec({module!r}); print(s and s.origin)"
    return _python_says(env_dir, code)


def dev_version(project: Project) -> str:
    """The version an editable install of the work tree gets: ``<base>+dev``."""
    return f"{project.base.version}+dev"


def ensure_env(
    project: Project,
    env_dir: Path,
    requirements: Path,
    extra: list[str],
    wheel: Path | None = None,
    *,
    editable: Path | None = None,
    console: Console | None = None,
) -> Result:
    """Create or reuse ``env_dir`` and install ``requirements``, ``extra`` and ``wheel``
    (or an ``editable`` install of a work tree).

    Nothing is reinstalled when the stamp says the same requirements (file hash and
    ``extra``) and the same wheel (its version carries the series hash) are there.
    pip's output goes to ``build/logs/pip-<env>.log``, and is printed if pip fails.
    """
    console = console or Console()
    python = venv_bin(env_dir, "python")
    created = not python.exists()
    if created:
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    stamp_path = env_dir / STAMP
    try:
        stamp = json.loads(stamp_path.read_text())
    except (FileNotFoundError, ValueError):
        stamp = {}
    want: dict[str, object] = {
        "requirements": hashlib.sha256(requirements.read_bytes()).hexdigest(),
        "extra": extra,
    }
    up_to_date = all(stamp.get(k) == v for k, v in want.items())
    package = project.base.package
    if wheel is not None:
        want["wheel"] = wheel.name
        version = wheel.name.split("-")[1]
        up_to_date = (
            up_to_date
            and stamp.get("wheel") == wheel.name
            and _installed_version(env_dir, package) == version
        )
    if editable is not None:
        want["editable"] = str(editable)
        origin = _imported_from(env_dir, package.replace("-", "_"))
        up_to_date = (
            up_to_date
            and stamp.get("editable") == str(editable)
            and origin is not None
            and Path(origin).is_relative_to(editable)
        )
    if up_to_date:
        return Result(Status.PASSED, "up to date")
    log = fresh_log(project.build_dir / "logs" / f"pip-{env_dir.name}.log")
    # --no-compile: Python compiles what it imports, on first import; compiling all of
    # pandas, pyarrow, bokeh... up front takes half of a new venv's install time.
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-compile"]
    if editable is not None:
        _install_editable(project, env_dir, editable, pip, log, console)
    cmd = [*pip, *([str(wheel)] if wheel is not None else []), *extra, "-r", str(requirements)]
    ran = console.run(cmd, project.root, log)
    if ran.returncode != 0:
        console.show(ran.output)
        raise SeriesError(
            f"pip install into {project.rel(env_dir)} failed (log: {project.rel(log)})"
        )
    stamp.update(want)
    stamp_path.write_text(json.dumps(stamp, indent=1) + "\n")
    what = wheel.name if wheel is not None else "requirements"
    if editable is not None:
        what = f"{project.rel(editable)} (editable)"
    how = "created and installed" if created else "installed"
    return Result(Status.PASSED, f"{how} {what}")


def _install_editable(
    project: Project, env_dir: Path, tree: Path, pip: list[str], log: Path, console: Console
) -> None:
    """``pip install -e tree`` with version ``<base>+dev``. Building it rewrites files
    of the tree (``_version.py``, the egg-info); they are put back as they were, so the
    work tree shows only the user's own changes.
    """
    before = {line[3:] for line in status_entries(tree)}
    saved = {name: (tree / name).read_bytes() for name in before if (tree / name).is_file()}
    env = dict(os.environ, SETUPTOOLS_SCM_PRETEND_VERSION=dev_version(project))
    if project.build_constraints.exists():
        env["PIP_CONSTRAINT"] = str(project.build_constraints)
    try:
        ran = console.run([*pip, "--no-deps", "-e", str(tree)], project.root, log, env)
    finally:
        for line in status_entries(tree):
            name = line[3:]
            if name in saved:
                if (tree / name).read_bytes() != saved[name]:
                    (tree / name).write_bytes(saved[name])
            elif name not in before and line.startswith(" M"):
                git(tree, "checkout", "--quiet", "--", name)
    if ran.returncode != 0:
        console.show(ran.output)
        raise SeriesError(
            f"editable install of {project.rel(tree)} into {project.rel(env_dir)} failed"
            f" (log: {project.rel(log)})"
        )


def ensure_venv(project: Project, wheel: Path | None, console: Console | None = None) -> Result:
    """``.venv``: the patched wheel, ``install_with`` from base.toml, requirements/test.txt."""
    return ensure_env(
        project,
        project.venv_dir,
        project.test_requirements,
        list(project.base.install_with),
        wheel,
        console=console,
    )


def ensure_lint_venv(project: Project, console: Console | None = None) -> Result:
    """``build/lint-venv``: upstream's mypy hook environment (requirements/lint.txt)."""
    return ensure_env(
        project, project.lint_venv_dir, project.lint_requirements, [], console=console
    )


def ensure_build_venv(project: Project, console: Console | None = None) -> Result:
    """``build/build-venv``: the wheel's build backend, as requirements/build.txt pins it."""
    return ensure_env(
        project, project.build_venv_dir, project.build_constraints, [], console=console
    )


def ensure_dev_venv(project: Project, tree: Path, console: Console | None = None) -> Result:
    """``build/dev-venv``: requirements/test.txt, ``install_with`` and an editable install
    of ``tree``, so that tests import the tree's code as it is on disk.
    """
    return ensure_env(
        project,
        project.dev_venv_dir,
        project.test_requirements,
        list(project.base.install_with),
        editable=tree,
        console=console,
    )
