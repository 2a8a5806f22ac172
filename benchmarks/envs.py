"""The two builds that every benchmark compares, each in a venv of its own.

- ``build/bench/pristine``: ``distributed==2026.8.0`` from PyPI, as users have it today;
  or, with ``baseline="pr<N>"``, ``build/bench/pr<N>``: the series up to pull request N
  of the stack (e.g. to measure what the later pull requests change);
- ``build/bench/patched``: the wheel that ``python3 -m seriestool build`` makes from
  ``patches/``.

Both get ``dask[distributed]==2026.8.0`` and ``requirements/bench.txt``. A benchmark runs
the same measurement code in both interpreters, alternating between them, and compares.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seriestool.build import get_wheel  # noqa: E402
from seriestool.project import Project  # noqa: E402
from seriestool.venv import ensure_env, venv_bin  # noqa: E402

BUILDS = ("pristine", "patched")
RESULTS = ROOT / "build" / "bench"
#: How results name each build; builds(baseline=...) renames the baseline
LABELS = {"pristine": "pristine", "patched": "patched"}


def builds(baseline: str = "pristine") -> dict[str, Path]:
    """Build the patched wheel and make sure both venvs are up to date.

    ``baseline``: ``"pristine"`` (2026.8.0 from PyPI) or ``"pr<N>"`` (the series up to
    pull request N); either way it is the build called ``"pristine"`` in the result.

    Returns the python interpreter of each build.
    """
    project = Project.load(ROOT)
    requirements = ROOT / "requirements" / "bench.txt"
    wheel = get_wheel(project).path
    install_with = list(project.base.install_with)
    if baseline == "pristine":
        pristine_dir = RESULTS / "pristine"
        ensure_env(project, pristine_dir, requirements, [project.base.requirement, *install_with])
    else:
        pristine_dir = RESULTS / baseline
        ensure_env(project, pristine_dir, requirements, install_with, _pr_wheel(project, baseline))
        LABELS["pristine"] = f"up to PR {baseline[2:]}"
    ensure_env(project, RESULTS / "patched", requirements, install_with, wheel)
    pristine = venv_bin(pristine_dir, "python")
    patched = venv_bin(RESULTS / "patched", "python")
    return {"pristine": pristine, "patched": patched}


def _pr_wheel(project: Project, baseline: str) -> Path:
    """The wheel of the series up to pull request ``baseline`` (``"pr<N>"``)"""
    from seriestool.series import pull_requests, read_series

    prs = pull_requests(read_series(project), "patches/series")
    if not baseline[2:].isdigit() or not 1 <= int(baseline[2:]) <= len(prs):
        raise SystemExit(f"baseline {baseline!r}: expected pristine or pr1 to pr{len(prs)}")
    patches = [
        project.patches_dir / entry.name
        for pr in prs[: int(baseline[2:])]
        for entry in pr.entries
        if not entry.upstream_only
    ]
    return get_wheel(project, patches).path


def run_in(python: Path, script: Path, *args: str, timeout: float = 1800) -> Any:
    """Run ``script --measure args...`` with ``python``; its last stdout line is JSON."""
    proc = subprocess.run(
        [str(python), str(script), "--measure", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-5000:])
        raise SystemExit(f"{script.name} --measure {' '.join(args)} failed in {python}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import distributed; print(distributed.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def machine() -> dict[str, Any]:
    import os
    import platform

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "system": platform.system(),
    }
    try:  # Linux
        cpuinfo = Path("/proc/cpuinfo").read_text()
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        return info
    models = [
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
    ]
    info["cpu"] = models[0] if models else None
    total_kib = [
        int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")
    ]
    info["memory_gib"] = round(total_kib[0] / 2**20, 1) if total_kib else None
    return info


def save(name: str, data: Any) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def describe(pythons: dict[str, Path], script: str) -> dict[str, Any]:
    """Print and return what a benchmark's result depends on: command, machine, versions"""
    described = {
        "command": shlex.join(["python3", script, *sys.argv[1:]]),
        "machine": machine(),
        "versions": {b: version(p) for b, p in pythons.items()},
    }
    for key, value in described.items():
        print(f"{key}: {value}", flush=True)
    return described
