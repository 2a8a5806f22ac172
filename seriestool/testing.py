"""``lint``, ``test`` and ``install``: the checks that need ``.venv``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .build import build_wheel, wheel_version
from .project import EXPECT_VERSION_ENV, Project, SeriesError
from .series import PullRequest, pull_requests, read_series
from .tree import check, patched_tree, temp_dir, touched_files
from .venv import ensure_env, ensure_lint_venv, ensure_venv, venv_bin


def _step(title: str) -> None:
    print(f"\n== seriestool: {title} ==", flush=True)


def _run(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None) -> int:
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, check=False).returncode


def lint_tool(project: Project) -> bool:
    """ruff and mypy on the tool itself, with this repository's pyproject.toml."""
    ruff, mypy = venv_bin(project.venv_dir, "ruff"), venv_bin(project.venv_dir, "mypy")
    return not any(
        [
            _run([ruff, "check", "seriestool", "tests", "benchmarks", "demo"], project.root),
            _run(
                [ruff, "format", "--check", "seriestool", "tests", "benchmarks", "demo"],
                project.root,
            ),
            _run([mypy, "seriestool"], project.root),
        ]
    )


def lint_series(project: Project, tree: Path) -> bool | None:
    """ruff (check and format) and mypy on what the series touches, with upstream's config.

    None when the series touches no Python file.
    """
    files = [f for f in touched_files(tree) if f.endswith(".py")]
    if not files:
        print("seriestool: the series touches no Python file; nothing to lint")
        return None
    ruff = venv_bin(project.venv_dir, "ruff")
    ensure_lint_venv(project)
    mypy = venv_bin(project.lint_venv_dir, "mypy")
    config = tree / "pyproject.toml"
    # mypy on the touched modules, not on the tests.
    modules = [f for f in files if f.startswith("distributed/") and "/tests/" not in f]
    failed = [
        _run([ruff, "check", "--config", config, *files], tree),
        _run([ruff, "format", "--check", "--config", config, *files], tree),
    ]
    if modules:
        cache = project.build_dir / "mypy-cache-series"
        # In upstream's hook environment, from the tree's root, so mypy reads the tree's
        # [tool.mypy] configuration and analyses the tree's distributed/.
        failed.append(_run([mypy, "--warn-unused-configs", "--cache-dir", cache, *modules], tree))
    return not any(failed)


def series_test_files(tree: Path) -> list[Path]:
    """The ``test_*.py`` files the series adds."""
    return [
        tree / f
        for f in touched_files(tree, added_only=True)
        if Path(f).name.startswith("test_") and f.endswith(".py")
    ]


def run_series_tests(
    project: Project,
    tree: Path,
    version: str,
    extra: Sequence[str] = (),
    env_dir: Path | None = None,
) -> bool | None:
    """The series' own tests against the wheel INSTALLED in ``env_dir`` (default
    ``.venv``); None when it adds no tests.
    """
    tests = series_test_files(tree)
    if not tests:
        print("seriestool: the series adds no test files; skipping")
        return None
    env = dict(os.environ)
    # Only the harness comes from this repository; ``distributed`` comes from .venv.
    env["PYTHONPATH"] = str(project.root)
    env[EXPECT_VERSION_ENV] = version
    cmd: list[str | Path] = [
        venv_bin(env_dir or project.venv_dir, "pytest"),
        "--noconftest",
        "-p",
        "seriestool.pytest_harness",
        "--import-mode=importlib",
        "-c",
        tree / "pyproject.toml",
        "--rootdir",
        tree,
        # upstream's addopts say --color=yes; CI logs want plain text
        "--color=auto",
        "-p",
        "no:cacheprovider",
        *extra,
        *tests,
    ]
    # Run outside the tree: a subprocess started with cwd on sys.path must not find
    # the tree's distributed/ either.
    with temp_dir(project, "pytest") as cwd:
        return _run(cmd, cwd, env) == 0


def run_boundary_tests(project: Project, prs: list[PullRequest], extra: Sequence[str] = ()) -> bool:
    """At the end of each of ``prs`` (a stack from its first pull request): build the
    series up to there, install it into ``build/boundary-venv`` and run the tests that
    the series has there. Every pull request must pass its own tests and those of the
    pull requests before it, without the ones after it.
    """
    env_dir = project.build_dir / "boundary-venv"
    failed = []
    patches: list[Path] = []
    for pr in prs:
        patches += [project.patches_dir / e.name for e in pr.entries if not e.upstream_only]
        _step(f"PR {pr.number}: {pr.title}")
        version = wheel_version(project, patches)
        with patched_tree(project, patches) as tree:
            wheel = build_wheel(project, tree, version)
            ensure_env(
                project,
                env_dir,
                project.test_requirements,
                list(project.base.install_with),
                wheel,
            )
            if run_series_tests(project, tree, version, extra, env_dir) is False:
                failed.append(pr.number)
    if failed:
        print(f"seriestool: tests failed at the end of PR(s) {', '.join(map(str, failed))}")
    return not failed


def run_tool_tests(project: Project) -> bool:
    return _run([venv_bin(project.venv_dir, "python"), "-m", "pytest", "tests"], project.root) == 0


def lint(project: Project) -> None:
    ensure_venv(project, None)
    with patched_tree(project) as tree:
        _step("lint (tool)")
        ok_tool = lint_tool(project)
        _step("lint (series)")
        ok_series = lint_series(project, tree)
    failed = [n for n, ok in (("tool", ok_tool), ("series", ok_series)) if ok is False]
    if failed:
        raise SeriesError(f"lint failed: {', '.join(failed)}")
    print("seriestool: lint passed")


def test(project: Project, pytest_args: Sequence[str] = ()) -> None:
    _step("check")
    count = check(project)
    print(f"seriestool: check passed ({count} patches)")
    prs = pull_requests(read_series(project), project.rel(project.series_file))
    results: dict[str, bool | None] = {"check": True}
    with patched_tree(project) as tree:
        _step("build")
        wheel = build_wheel(project, tree)
        print(f"seriestool: built {project.rel(wheel)}")
        ensure_venv(project, wheel)
        _step("tool tests")
        results["tool tests"] = run_tool_tests(project)
        _step("lint (tool)")
        results["lint (tool)"] = lint_tool(project)
        _step("lint (series)")
        results["lint (series)"] = lint_series(project, tree)
        _step("series tests")
        results["series tests"] = run_series_tests(
            project, tree, wheel_version(project), pytest_args
        )
    if len(prs) > 1:
        # The whole series, i.e. the end of the last PR, was tested above
        results["tests at PR boundaries"] = run_boundary_tests(project, prs[:-1], pytest_args)
    failed = [name for name, ok in results.items() if ok is False]
    passed = [name for name, ok in results.items() if ok is True]
    skipped = [name for name, ok in results.items() if ok is None]
    summary = f"passed: {', '.join(passed)}"
    if skipped:
        summary += f"; skipped (nothing in the series): {', '.join(skipped)}"
    print()
    if failed:
        raise SeriesError(f"test failed: {', '.join(failed)}; {summary}")
    print(f"seriestool: test passed for {wheel.name}; {summary}")


def install(project: Project) -> None:
    with patched_tree(project) as tree:
        wheel = build_wheel(project, tree)
    print(f"seriestool: built {project.rel(wheel)}")
    python = ensure_venv(project, wheel)
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
    if _run([python, "-m", "pip", "check"], project.root):
        raise SeriesError(f"pip check failed in {project.rel(project.venv_dir)}")
    demo = project.root / "demo"
    if (demo / "__main__.py").exists():
        _step("demo")
        if _run([python, "-m", "demo"], project.root):
            raise SeriesError("demo failed (python -m demo)")
    print(f"seriestool: ready; activate with: source {project.rel(project.venv_dir)}/bin/activate")
