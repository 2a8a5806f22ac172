"""``check`` (with the stack), ``lint``, ``test``, ``test PATH`` and ``install``."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .boundaries import run_boundaries
from .build import get_wheel, publish
from .console import Console, Result, Status, Timer, fresh_log, pytest_result
from .git import is_repo_root
from .project import Project, SeriesError
from .runpytest import run_pytest, series_test_files
from .series import pull_requests, read_series
from .tree import check_tree, patched_tree, touched_files, worktree_note
from .venv import ensure_dev_venv, ensure_lint_venv, ensure_venv, venv_bin

BOUNDARIES = "tests at PR boundaries"
CROSS_VERSION = "cross-version check"
UPSTREAM_MATRIX = "upstream matrix"


def _lint(
    project: Project,
    name: str,
    commands: Sequence[tuple[str, Sequence[str | Path]]],
    cwd: Path,
    console: Console,
    timer: Timer,
) -> Result:
    """Run each (label, command) into one log; one line for all of them."""
    log = fresh_log(project.logs_dir / f"{re.sub(r'[^a-z]+', '-', name).strip('-')}.log")
    failed: list[str] = []
    outputs: list[str] = []
    files = ""
    for label, cmd in commands:
        ran = console.run(cmd, cwd, log)
        m = re.search(r"(\d+) source files?", ran.output)
        files = f" ({m.group(1)} source files)" if m else files
        if ran.returncode != 0:
            failed.append(label)
            outputs.append(f"$ {label}\n{ran.output}")
    labels = ", ".join(label for label, _ in commands)
    result = (
        Result(Status.FAILED, f"{', '.join(failed)} failed")
        if failed
        else Result(Status.PASSED, f"{labels} passed{files}")
    )
    console.step(name, result, timer.seconds, project.rel(log), "".join(outputs))
    return result


def lint_tool(project: Project, console: Console) -> Result:
    """ruff and mypy on the tool itself, with this repository's pyproject.toml."""
    timer = Timer()
    ruff, mypy = venv_bin(project.venv_dir, "ruff"), venv_bin(project.venv_dir, "mypy")
    paths = [
        p
        for p in ("seriestool", "tests", "benchmarks", "compat", "mutations", "demo")
        if (project.root / p).exists()
    ]
    return _lint(
        project,
        "lint (tool)",
        [
            ("ruff check", [ruff, "check", *paths]),
            ("ruff format --check", [ruff, "format", "--check", *paths]),
            # The files of pyproject.toml's [tool.mypy]: the tool, and the scripts
            # that call into it (benchmarks/envs.py, compat/)
            ("mypy", [mypy]),
        ],
        project.root,
        console,
        timer,
    )


def lint_series(project: Project, tree: Path, console: Console) -> Result:
    """ruff (check and format) and mypy on what the series touches, with upstream's config."""
    timer = Timer()
    files = [f for f in touched_files(tree) if f.endswith(".py")]
    if not files:
        result = Result(Status.EMPTY, "the series touches no Python file")
        console.step("lint (series)", result, timer.seconds)
        return result
    ruff = venv_bin(project.venv_dir, "ruff")
    ensure_lint_venv(project, console)
    mypy = venv_bin(project.lint_venv_dir, "mypy")
    config = tree / "pyproject.toml"
    commands: list[tuple[str, Sequence[str | Path]]] = [
        ("ruff check", [ruff, "check", "--config", config, *files]),
        ("ruff format --check", [ruff, "format", "--check", "--config", config, *files]),
    ]
    # mypy on the touched modules, not on the tests.
    modules = [f for f in files if f.startswith("distributed/") and "/tests/" not in f]
    if modules:
        cache = project.build_dir / "mypy-cache-series"
        # In upstream's hook environment, from the tree's root, so mypy reads the tree's
        # [tool.mypy] configuration and analyses the tree's distributed/.
        commands.append(("mypy", [mypy, "--warn-unused-configs", "--cache-dir", cache, *modules]))
    return _lint(project, "lint (series)", commands, tree, console, timer)


def run_series_tests(
    project: Project,
    tree: Path,
    version: str,
    extra: Sequence[str],
    console: Console,
) -> Result:
    """The series' own tests against the wheel INSTALLED in ``.venv``."""
    timer = Timer()
    tests = series_test_files(tree)
    if not tests:
        result = Result(Status.EMPTY, "the series adds no test files")
        console.step("series tests", result, timer.seconds)
        return result
    log = fresh_log(project.logs_dir / "series-tests.log")
    ran = run_pytest(project, project.venv_dir, tree, tests, extra, log, console, version=version)
    result = pytest_result(ran, selecting=bool(extra))
    console.step("series tests", result, timer.seconds, project.rel(log), ran.output)
    return result


def run_tool_tests(project: Project, console: Console) -> Result:
    timer = Timer()
    log = fresh_log(project.logs_dir / "tool-tests.log")
    python = venv_bin(project.venv_dir, "python")
    ran = console.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "tests"], project.root, log
    )
    result = pytest_result(ran, selecting=False)
    console.step("tool tests", result, timer.seconds, project.rel(log), ran.output)
    return result


def run_cross_version(project: Project, console: Console) -> Result:
    """``compat/cross_version.py``: the patched build against pristine 2026.8.0, both
    ways, as separate processes; its last line says what passed.
    """
    return _run_compat_script(project, CROSS_VERSION, "cross_version.py", [], console)


def run_upstream_matrix(project: Project, pytest_args: Sequence[str], console: Console) -> Result:
    """``compat/upstream_matrix.py``: the series' tests in a checkout of upstream main,
    under upstream's own ``conftest.py``, on Python 3.10 to 3.13; skipped on a machine
    without the snapshot of upstream it clones (see compat/README.md).
    """
    args = ["--skip-without-mirror", *(["--", *pytest_args] if pytest_args else [])]
    return _run_compat_script(project, UPSTREAM_MATRIX, "upstream_matrix.py", args, console)


def _run_compat_script(
    project: Project, step: str, name: str, args: list[str], console: Console
) -> Result:
    """Run ``compat/<name>`` as one step. Its last ``summary: ...`` line is the step's
    detail; a line ``...skipped: <why>`` with exit status 0 means it could not run here.
    """
    script = project.root / "compat" / name
    if not script.exists():
        return Result(Status.EMPTY)
    timer = Timer()
    log = fresh_log(project.logs_dir / f"{name.removesuffix('.py').replace('_', '-')}.log")
    ran = console.run([sys.executable, script, *args], project.root, log)
    output = ran.output.splitlines()
    skipped = [line.split("skipped: ", 1)[1] for line in output if "skipped: " in line]
    summaries = [line.removeprefix("summary: ") for line in output if line.startswith("summary: ")]
    if ran.returncode == 0 and skipped and not summaries:
        result = Result(Status.UNAVAILABLE, f"skipped: {skipped[-1]}")
    else:
        detail = summaries[-1] if summaries else "no summary"
        result = Result(Status.PASSED if ran.returncode == 0 else Status.FAILED, detail)
    console.step(step, result, timer.seconds, project.rel(log), ran.output)
    return result


def _note_worktree(project: Project) -> None:
    """After a passed check: whether build/work holds what patches/ does not."""
    note = worktree_note(project, project.default_worktree)
    if note:
        print(f"seriestool: note: {note}", flush=True)


def _build_step(project: Project, tree: Path | None, console: Console) -> Path:
    """The series' wheel (cached or built) in dist/; one line."""
    timer = Timer()
    wheel = get_wheel(project, None, tree, console)
    path = publish(project, wheel)
    how = "from the cache" if wheel.cached else "built"
    console.step("build", Result(Status.PASSED, f"{project.rel(path)}, {how}"), timer.seconds)
    return path


def _install_step(project: Project, wheel: Path, console: Console) -> None:
    timer = Timer()
    result = ensure_venv(project, wheel, console)
    console.step(f"install ({project.rel(project.venv_dir)})", result, timer.seconds)


def check(project: Project, *, all_boundary_tests: bool = False, verbose: bool = False) -> None:
    """``check``: the series, its stack and, at the end of each PR, build and tests."""
    console = Console(verbose)
    prs = pull_requests(read_series(project), project.rel(project.series_file))
    with patched_tree(project) as tree:
        n = check_tree(project, tree)
        _note_worktree(project)
        what = f"{n} patches apply cleanly and re-export byte for byte"
        if prs:
            print(f"seriestool: {what}; building and testing the end of each PR", flush=True)
            result = run_boundaries(
                project,
                prs,
                tree,
                (),
                console,
                all_tests=all_boundary_tests,
                last_runs_all=True,
            )
            if result.status is Status.FAILED:
                raise SeriesError(f"check failed: {result.detail}")
            what = f"{len(prs)} pull requests build and pass their tests, and {what}"
    print(f"seriestool: check passed: {what}")


def lint(project: Project, *, verbose: bool = False) -> None:
    console = Console(verbose)
    ensure_venv(project, None, console)
    with patched_tree(project) as tree:
        results = {
            "tool": lint_tool(project, console),
            "series": lint_series(project, tree, console),
        }
    failed = [name for name, r in results.items() if r.status is Status.FAILED]
    if failed:
        raise SeriesError(f"lint failed: {', '.join(failed)}")
    print("seriestool: lint passed")


def test(
    project: Project,
    pytest_args: Sequence[str] = (),
    *,
    quick: bool = False,
    all_boundary_tests: bool = False,
    verbose: bool = False,
) -> None:
    """What CI runs; ``quick`` leaves out the PR boundaries."""
    console = Console(verbose)
    prs = pull_requests(read_series(project), project.rel(project.series_file))
    results: dict[str, Result] = {}
    timer = Timer()
    with patched_tree(project) as tree:
        count = check_tree(project, tree)
        results["check"] = Result(
            Status.PASSED, f"{count} patches apply cleanly and re-export byte for byte"
        )
        console.step("check", results["check"], timer.seconds)
        _note_worktree(project)
        wheel = _build_step(project, tree, console)
        results["build"] = Result(Status.PASSED)
        _install_step(project, wheel, console)
        results["install"] = Result(Status.PASSED)
        results["tool tests"] = run_tool_tests(project, console)
        results["lint (tool)"] = lint_tool(project, console)
        results["lint (series)"] = lint_series(project, tree, console)
        version = wheel.name.split("-")[1]
        results["series tests"] = run_series_tests(project, tree, version, pytest_args, console)
        if len(prs) > 1 and quick:
            results[BOUNDARIES] = Result(Status.SKIPPED)
            print(f"{BOUNDARIES}: {Status.SKIPPED.value}")
        elif len(prs) > 1:
            # The whole series, i.e. the end of the last PR, was tested above
            results[BOUNDARIES] = run_boundaries(
                project, prs[:-1], tree, pytest_args, console, all_tests=all_boundary_tests
            )
    if quick:
        for step in (CROSS_VERSION, UPSTREAM_MATRIX):
            results[step] = Result(Status.SKIPPED)
            print(f"{step}: {Status.SKIPPED.value}")
    else:
        results[CROSS_VERSION] = run_cross_version(project, console)
        results[UPSTREAM_MATRIX] = run_upstream_matrix(project, pytest_args, console)
    print()
    summary = _summary(results)
    failed = [name for name, r in results.items() if r.status is Status.FAILED]
    if failed:
        raise SeriesError(f"test failed: {', '.join(failed)}; {summary}")
    print(f"seriestool: test passed for {wheel.name}; {summary}")


def _summary(results: dict[str, Result]) -> str:
    """``passed: a, b; no tests selected: c; skipped (nothing in the series): d``."""
    parts = []
    for status in (
        Status.PASSED,
        Status.NONE_SELECTED,
        Status.EMPTY,
        Status.SKIPPED,
        Status.UNAVAILABLE,
    ):
        names = [name for name, r in results.items() if r.status is status]
        if names:
            parts.append(f"{status.value}: {', '.join(names)}")
    return "; ".join(parts)


def resolve_test_paths(project: Project, tree: Path, paths: Sequence[str]) -> list[str]:
    """``paths`` (relative to the work tree, or absolute or relative to the current
    directory inside it; a pytest node id ``PATH::name`` keeps its ``::name``) as
    absolute paths in the work tree.
    """
    root = tree.resolve()
    resolved = []
    for arg in paths:
        path, sep, node = arg.partition("::")
        candidates = [Path(path)] if Path(path).is_absolute() else [root / path, Path(path)]
        found = next((c.resolve() for c in candidates if c.exists()), None)
        if found is None:
            raise SeriesError(f"{path} does not exist in {project.rel(tree)}")
        if not found.is_relative_to(root):
            raise SeriesError(f"{path} is not inside the work tree {project.rel(tree)}")
        resolved.append(f"{found}{sep}{node}")
    return resolved


def test_paths(
    project: Project,
    tree: Path,
    paths: Sequence[str],
    pytest_args: Sequence[str] = (),
    *,
    verbose: bool = False,
) -> None:
    """``test PATH...``: the given test files against the work tree as it is on disk,
    through an editable install in ``build/dev-venv``; no wheel, no check, no lint.
    """
    console = Console(verbose)
    if not is_repo_root(tree):
        raise SeriesError(f"work tree {project.rel(tree)} does not exist; run import first")
    resolved = resolve_test_paths(project, tree, paths)
    timer = Timer()
    result = ensure_dev_venv(project, tree.resolve(), console)
    console.step(f"install ({project.rel(project.dev_venv_dir)})", result, timer.seconds)
    timer = Timer()
    log = fresh_log(project.logs_dir / "dev-tests.log")
    ran = run_pytest(
        project,
        project.dev_venv_dir,
        tree.resolve(),
        [Path(p) for p in resolved],
        pytest_args,
        log,
        console,
        source_tree=tree.resolve(),
    )
    result = pytest_result(ran, selecting=True)
    name = f"tests ({project.rel(tree)} as on disk)"
    console.step(name, result, timer.seconds, project.rel(log), ran.output)
    if result.status is Status.FAILED:
        raise SeriesError(f"test failed: {name}")


def install(project: Project, *, verbose: bool = False) -> None:
    console = Console(verbose)
    wheel = _build_step(project, None, console)
    _install_step(project, wheel, console)
    python = venv_bin(project.venv_dir, "python")
    proc = subprocess.run(
        [str(python), "-c", "import distributed; print(distributed.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SeriesError("cannot import distributed from .venv: " + proc.stderr.strip())
    version = proc.stdout.strip()
    print(f"seriestool: distributed {version} installed in {project.rel(project.venv_dir)}")
    log = fresh_log(project.logs_dir / "pip-check.log")
    ran = console.run([python, "-m", "pip", "check"], project.root, log)
    if ran.returncode != 0:
        console.show(ran.output)
        raise SeriesError(f"pip check failed in {project.rel(project.venv_dir)}")
    demo = project.root / "demo"
    if (demo / "__main__.py").exists():
        print("\n== seriestool: demo ==", flush=True)
        sys.stdout.flush()
        if subprocess.run([str(python), "-m", "demo"], cwd=project.root, check=False).returncode:
            raise SeriesError("demo failed (python -m demo)")
    print(f"seriestool: ready; activate with: source {project.rel(project.venv_dir)}/bin/activate")
