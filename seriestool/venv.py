"""Virtual environments: ``.venv`` (patched wheel + test tools), ``build/lint-venv`` (mypy)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import venv
from pathlib import Path

from .project import Project, SeriesError

STAMP = ".seriestool-installed.json"


def venv_bin(env_dir: Path, name: str) -> Path:
    return env_dir / "bin" / name


def _installed_version(env_dir: Path, package: str) -> str | None:
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    proc = subprocess.run(
        [str(venv_bin(env_dir, "python")), "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_env(
    project: Project,
    env_dir: Path,
    requirements: Path,
    extra: list[str],
    wheel: Path | None = None,
) -> Path:
    """Create or reuse ``env_dir`` and install ``requirements``, ``extra`` and ``wheel``.

    Nothing is reinstalled when the stamp says the same requirements (file hash and
    ``extra``) and the same wheel (its version carries the series hash) are there.
    """
    python = venv_bin(env_dir, "python")
    if not python.exists():
        print(f"seriestool: creating {project.rel(env_dir)}", flush=True)
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
    if wheel is not None:
        want["wheel"] = wheel.name
        version = wheel.name.split("-")[1]
        up_to_date = (
            up_to_date
            and stamp.get("wheel") == wheel.name
            and _installed_version(env_dir, project.base.package) == version
        )
    if up_to_date:
        return python
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    cmd += [str(wheel)] if wheel is not None else []
    cmd += [*extra, "-r", str(requirements)]
    print(f"seriestool: installing into {project.rel(env_dir)}", flush=True)
    if subprocess.run(cmd, check=False).returncode != 0:
        raise SeriesError(f"pip install into {project.rel(env_dir)} failed (see above)")
    stamp.update(want)
    stamp_path.write_text(json.dumps(stamp, indent=1) + "\n")
    return python


def ensure_venv(project: Project, wheel: Path | None) -> Path:
    """``.venv``: the patched wheel, ``install_with`` from base.toml, requirements/test.txt."""
    return ensure_env(
        project, project.venv_dir, project.test_requirements, list(project.base.install_with), wheel
    )


def ensure_lint_venv(project: Project) -> Path:
    """``build/lint-venv``: upstream's mypy hook environment (requirements/lint.txt)."""
    return ensure_env(project, project.lint_venv_dir, project.lint_requirements, [])
