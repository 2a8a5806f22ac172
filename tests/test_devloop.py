"""The contributor's loop on a fake project: quiet steps, the wheel cache, the tests at
each pull request's end, ``test --quick``, ``test PATH``, ``docs``. No network: pip
wheel, the venvs and the tool's own test and lint steps are stood in for.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FILES, Cli, commit, git, write_project

from seriestool import boundaries, build, runpytest, testing, venv
from seriestool.cli import main
from seriestool.console import Console, Ran, Result, Status, duration, pytest_result
from seriestool.imported import import_error, report_header
from seriestool.project import Project
from seriestool.tree import PR_TITLE_PREFIX, PR_WARNING

PYPROJECT = "[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n"
PASS = "def test_{0}():\n    pass\n"

# Three pull requests: PR 3 changes the code of PR 1 (pkg/__init__.py) but not PR 2's.
STACK: list[tuple[str, dict[str, str]]] = [
    ("Change init", {"pkg/__init__.py": "X = 2\n", "pkg/tests/test_a.py": PASS.format("a")}),
    ("Add c", {"pkg/c.py": "C = 1\n", "pkg/tests/test_c.py": PASS.format("c")}),
    ("Change init again", {"pkg/__init__.py": "X = 3\n", "b.txt": "docs only\n"}),
]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return write_project(tmp_path / "proj", {**FILES, "pyproject.toml": PYPROJECT})


def make_stack(project: Project, cli: Cli, stack: list[tuple[str, dict[str, str]]]) -> None:
    """One commit and one pull request per item, exported, with descriptions."""
    assert cli("import")[0] == 0
    for subject, changes in stack:
        commit(project.default_worktree, subject, changes)
    assert cli("export")[0] == 0
    text = project.series_file.read_text()
    project.pull_requests_dir.mkdir()
    for n, (subject, _) in enumerate(stack, 1):
        name = subject.lower().replace(" ", "-") + ".patch"
        text = text.replace(f"{name}\n", f"# PR {n}: {subject}\n{name}\n")
        (project.pull_requests_dir / f"{n:02d}-x.md").write_text(
            f"# {PR_TITLE_PREFIX}{subject}\n\n{PR_WARNING}\nText.\n"
        )
    project.series_file.write_text(text)


@pytest.fixture
def builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip wheel stood in for: writes an empty wheel, and a line per build to the file."""
    count = tmp_path / "builds.txt"
    count.write_text("")
    code = textwrap.dedent(
        f"""
        import os, pathlib, sys
        v = os.environ["SETUPTOOLS_SCM_PRETEND_VERSION"]
        pathlib.Path(sys.argv[1], f"pkg-{{v}}-py3-none-any.whl").write_text(v)
        with open({str(count)!r}, "a") as f:
            f.write(v + "\\n")
        """
    )

    def command(project: Project, src: Path, out: Path, console: Console) -> list[str]:
        out.mkdir(parents=True, exist_ok=True)
        return [sys.executable, "-c", code, str(out)]

    monkeypatch.setattr(build, "pip_wheel_command", command)
    return count


@pytest.fixture
def fakes(builds: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Venvs, the tool's own tests and lint stood in for; pytest is this Python's."""
    calls: list[str] = []

    def env(*args: object, **kwargs: object) -> Result:
        calls.append("env")
        return Result(Status.PASSED, "up to date")

    def step(name: str) -> Callable[..., Result]:
        def run(*args: object, **kwargs: object) -> Result:
            calls.append(name)
            return Result(Status.PASSED, "fake")

        return run

    for module in (testing, boundaries):
        for name in ("ensure_env", "ensure_venv", "ensure_lint_venv", "ensure_dev_venv"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, env)
    monkeypatch.setattr(testing, "run_tool_tests", step("tool tests"))
    monkeypatch.setattr(testing, "lint_tool", step("lint (tool)"))
    monkeypatch.setattr(testing, "lint_series", step("lint (series)"))
    # Plugins such as hypothesis take most of a small pytest run's time
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(
        runpytest,
        "pytest_command",
        lambda env_dir: [sys.executable, "-m", "pytest", "--noconftest"],
    )
    return calls


def lines(out: str, prefix: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(prefix)]


# 1. An empty selection is not a failure ---------------------------------------------


def ran_pytest(tmp_path: Path, body: str, *args: str) -> Ran:
    (tmp_path / "test_x.py").write_text(body)
    log = tmp_path / "log"
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return Console().run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, "test_x.py"],
        tmp_path,
        log,
        env,
    )


def test_pytest_exit_5_with_arguments_is_no_tests_selected(tmp_path: Path) -> None:
    ran = ran_pytest(tmp_path, PASS.format("x"), "-k", "nothing_matches")
    assert ran.returncode == 5
    assert pytest_result(ran, selecting=True) == Result(
        Status.NONE_SELECTED, "no tests selected (1 deselected)"
    )


def test_pytest_exit_5_without_arguments_is_a_failure(tmp_path: Path) -> None:
    ran = ran_pytest(tmp_path, "X = 1\n")
    assert ran.returncode == 5
    assert pytest_result(ran, selecting=False).status is Status.FAILED


def test_pytest_result_counts(tmp_path: Path) -> None:
    ran = ran_pytest(tmp_path, PASS.format("a") + PASS.format("b") + "def test_c():\n    1/0\n")
    assert pytest_result(ran, selecting=False) == Result(Status.FAILED, "1 failed, 2 passed")
    ran = ran_pytest(tmp_path, PASS.format("a"))
    assert pytest_result(ran, selecting=False) == Result(Status.PASSED, "1 passed")


def test_duration() -> None:
    assert [duration(s) for s in (0.42, 38.4, 125)] == ["0.4s", "38s", "2m05s"]


def test_k_selecting_nothing_at_a_pr_end_is_not_a_failure(
    project: Project, cli: Cli, fakes: list[str]
) -> None:
    make_stack(project, cli, STACK)
    rc, out, err = cli("test", "--", "-k", "test_c")
    assert (rc, err) == (0, "")
    assert lines(out, "series tests: ") == [lines(out, "series tests: ")[0]]
    assert lines(out, "series tests: ")[0].startswith("series tests: 1 passed, 1 deselected in ")
    (pr1,) = lines(out, "PR 1: ")
    assert pr1.startswith("PR 1: no tests selected (1 deselected) (1 of 1 test files")
    assert lines(out, "PR 2: ")[0].startswith("PR 2: 1 passed (1 of 2 test files: PR 2's own;")
    assert out.splitlines()[-1].startswith("seriestool: test passed for pkg-1.0+pins.")
    assert "passed: check, build, install, tool tests, lint (tool), lint (series)," in out
    assert "tests at PR boundaries" in out.splitlines()[-1]


def test_k_selecting_nothing_anywhere_is_reported(
    project: Project, cli: Cli, fakes: list[str]
) -> None:
    make_stack(project, cli, STACK)
    rc, out, _ = cli("test", "--", "-k", "nothing_matches")
    assert rc == 0
    assert out.splitlines()[-1].endswith(
        "; no tests selected: series tests, tests at PR boundaries"
        "; skipped (nothing in the series): cross-version check, upstream matrix"
    )


MATRIX_SKIPS = """\
print("upstream_matrix: skipped: no snapshot of upstream at /nowhere/repo", flush=True)
"""
MATRIX_FAILS = """\
import sys
print("3.13  round  1/1  FAIL  2 tests: 1 passed, 1 failed", flush=True)
print("summary: FAIL: 4 run(s), 1 not green; 7 passed, 1 failed, 0 errors in total", flush=True)
sys.exit(1)
"""


@pytest.mark.parametrize("script", [MATRIX_SKIPS, MATRIX_FAILS], ids=["skipped", "failed"])
def test_upstream_matrix_step(project: Project, cli: Cli, fakes: list[str], script: str) -> None:
    """The matrix runs after the cross-version check: a machine without the snapshot of
    upstream skips it and says so; a failure in it fails the test command.
    """
    (project.root / "compat").mkdir()
    (project.root / "compat" / "upstream_matrix.py").write_text(script)
    make_stack(project, cli, STACK)
    rc, out, err = cli("test")
    if script is MATRIX_SKIPS:
        assert rc == 0
        assert lines(out, "upstream matrix: ")[0].startswith(
            "upstream matrix: skipped: no snapshot of upstream at /nowhere/repo in "
        )
        assert out.splitlines()[-1].endswith("; skipped (not available here): upstream matrix")
    else:
        assert rc == 1
        assert "3.13  round  1/1  FAIL" in out  # the script's output, shown
        assert lines(out, "upstream matrix: ")[0].startswith(
            "upstream matrix: FAILED: FAIL: 4 run(s), 1 not green;"
        )
        assert err.startswith("seriestool: error: test failed: upstream matrix;")


def test_failing_test_at_a_pr_end_fails_and_shows_pytest(
    project: Project, cli: Cli, fakes: list[str]
) -> None:
    broken = [(s, dict(c)) for s, c in STACK]
    broken[0][1]["pkg/tests/test_a.py"] = "def test_a():\n    assert 1 == 2, 'PR 1 is broken'\n"
    broken[1][1]["pkg/tests/test_a.py"] = PASS.format("a")
    make_stack(project, cli, broken)
    rc, out, err = cli("test")
    assert rc == 1
    assert "AssertionError: PR 1 is broken" in out
    assert lines(out, "PR 1: FAILED: 1 failed (")
    assert err.startswith("seriestool: error: test failed: tests at PR boundaries;")


# 2. --quick ------------------------------------------------------------------------


def test_quick_runs_everything_but_the_pr_ends(
    project: Project, cli: Cli, fakes: list[str], builds: Path
) -> None:
    make_stack(project, cli, STACK)
    rc, out, _ = cli("test", "--quick")
    assert rc == 0
    assert lines(out, "PR ") == []
    assert "tests at PR boundaries: skipped (--quick)" in out
    assert fakes == ["env", "tool tests", "lint (tool)", "lint (series)"]
    assert len(builds.read_text().splitlines()) == 1  # the whole series only
    assert out.splitlines()[-1].endswith(
        "; skipped (--quick): tests at PR boundaries, cross-version check, upstream matrix"
    )


def test_quick_and_paths_do_not_mix(project: Project, cli: Cli) -> None:
    assert cli("test", "--quick", "x.py")[2] == (
        "seriestool: error: test PATH runs only the given test files:"
        " no --quick or --all-boundary-tests\n"
    )


def test_arguments_after_dashes_are_for_test_only(project: Project, cli: Cli) -> None:
    assert cli("check", "--", "-k", "x")[2] == (
        "seriestool: error: arguments after -- are for test only, not for check\n"
    )


# 4. The wheel cache ----------------------------------------------------------------


def test_wheel_cache_hits_without_a_tree(
    with_patches: Project, builds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build.get_wheel(with_patches)
    assert not first.cached and first.path.read_text() == first.version
    assert first.path.is_relative_to(with_patches.cache_dir / "wheels")

    def no_tree(*args: object) -> None:
        raise AssertionError("a cache hit makes no tree")

    monkeypatch.setattr(build, "patched_tree", no_tree)
    again = build.get_wheel(with_patches)
    assert again == build.Wheel(first.path, first.version, True)
    assert builds.read_text().splitlines() == [first.version]


@pytest.mark.parametrize("change", ["patch", "base.toml", "build constraints"])
def test_wheel_cache_misses_when_an_input_changes(
    with_patches: Project, builds: Path, change: str
) -> None:
    first = build.get_wheel(with_patches)
    if change == "patch":
        patch = with_patches.patches_dir / "add-c.patch"
        patch.write_text(patch.read_text().replace("Subject: Add c", "Subject: Add c\n\nWhy."))
    elif change == "base.toml":
        base = with_patches.root / "base.toml"
        base.write_text(base.read_text() + "# same sdist, another pin file\n")
    else:
        with_patches.build_constraints.parent.mkdir(exist_ok=True)
        with_patches.build_constraints.write_text("setuptools==1.0\n")
    again = build.get_wheel(with_patches)
    assert not again.cached
    assert len(builds.read_text().splitlines()) == 2
    assert again.path != first.path


def test_check_then_test_build_each_pr_end_once(
    project: Project, cli: Cli, fakes: list[str], builds: Path
) -> None:
    make_stack(project, cli, STACK)
    rc, out, err = cli("check")
    assert (rc, err) == (0, "")
    assert [line.split(";")[-1] for line in lines(out, "PR ")] == [
        " wheel built) in " + line.rsplit(" in ", 1)[1] for line in lines(out, "PR ")
    ]
    assert len(builds.read_text().splitlines()) == 3
    rc, out, _ = cli("test")
    assert rc == 0
    assert "build: dist/pkg-1.0+pins." in out and ", from the cache in " in out
    assert all("; wheel cached)" in line for line in lines(out, "PR "))
    assert len(builds.read_text().splitlines()) == 3
    assert cli("check")[0] == 0
    assert len(builds.read_text().splitlines()) == 3


def test_prune_cache_keeps_the_most_recent(with_patches: Project, builds: Path) -> None:
    wheel = build.get_wheel(with_patches)
    root = with_patches.cache_dir / "wheels"
    for n in range(3):
        (root / f"old-{n}").mkdir()
        os.utime(root / f"old-{n}", (n, n))
    build.prune_cache(with_patches, keep=2)
    assert sorted(p.name for p in root.iterdir()) == sorted([wheel.path.parent.name, "old-2"])


# 6. Which tests run at the end of each pull request --------------------------------


def test_select_tests_own_and_shared_code() -> None:
    history = [
        (1, frozenset({"pkg/__init__.py", "pkg/tests/test_a.py"})),
        (2, frozenset({"pkg/c.py", "pkg/tests/test_c.py"})),
        (3, frozenset({"pkg/__init__.py", "docs/x.rst"})),
    ]
    present = frozenset({"pkg/tests/test_a.py", "pkg/tests/test_c.py"})
    selection = boundaries.select_tests(history, present, "pkg")
    assert selection.files == ["pkg/tests/test_a.py"]
    assert selection.why == "1 of 2 test files: those of PR 1, which changes the same code"
    own = boundaries.select_tests(history[:2], present, "pkg")
    assert own.files == ["pkg/tests/test_c.py"]
    assert own.why == "1 of 2 test files: PR 2's own"


def test_select_tests_changed_test_file_of_an_earlier_pr() -> None:
    history = [
        (1, frozenset({"pkg/a.py", "pkg/tests/test_a.py"})),
        (2, frozenset({"pkg/z.py", "pkg/tests/test_z.py"})),
        (3, frozenset({"pkg/tests/test_a.py", "pkg/b.py", "pkg/tests/test_b.py"})),
    ]
    present = frozenset({"pkg/tests/test_a.py", "pkg/tests/test_b.py", "pkg/tests/test_z.py"})
    selection = boundaries.select_tests(history, present, "pkg")
    assert selection.files == ["pkg/tests/test_a.py", "pkg/tests/test_b.py"]
    assert selection.why == "2 of 3 test files: PR 3's own"


@pytest.mark.parametrize(
    "changed,files,why",
    [
        (
            {"pyproject.toml"},
            ["pkg/tests/test_a.py"],
            "all 1 test files: PR 2 changes pyproject.toml",
        ),
        ({"pkg/new.py"}, ["pkg/tests/test_a.py"], "all 1 test files: no test file relates"),
        ({"docs/index.rst"}, [], "PR 2 changes no code and no test file"),
    ],
)
def test_select_tests_falls_back_to_all_or_none(
    changed: set[str], files: list[str], why: str
) -> None:
    history = [(1, frozenset({"pkg/a.py", "pkg/tests/test_a.py"})), (2, frozenset(changed))]
    selection = boundaries.select_tests(history, frozenset({"pkg/tests/test_a.py"}), "pkg")
    assert selection.files == files
    assert selection.why.startswith(why)


def test_pr_ends_run_own_and_related_tests(project: Project, cli: Cli, fakes: list[str]) -> None:
    make_stack(project, cli, STACK)
    rc, out, _ = cli("test")
    assert rc == 0
    pr = lines(out, "PR ")
    assert pr[0].startswith("PR 1: 1 passed (1 of 1 test files: PR 1's own; wheel built) in ")
    assert pr[1].startswith("PR 2: 1 passed (1 of 2 test files: PR 2's own; wheel built) in ")
    assert len(pr) == 2  # PR 3, the whole series: "series tests"
    assert lines(out, "series tests: 2 passed in ")
    rc, out, _ = cli("check")
    assert rc == 0
    assert lines(out, "PR 3: 2 passed (all 2 test files; wheel cached) in ")
    rc, out, _ = cli("check", "--all-boundary-tests")
    assert lines(out, "PR 2: 2 passed (all 2 test files; wheel cached) in ")


def test_plan_of_the_stack(project: Project, cli: Cli, fakes: list[str]) -> None:
    make_stack(project, cli, STACK)
    from seriestool.series import pull_requests, read_series
    from seriestool.tree import patched_tree

    prs = pull_requests(read_series(project), "series")
    with patched_tree(project) as tree:
        plan = boundaries.plan(project, prs, tree)
    assert [sorted(b.changed) for b in plan] == [
        ["pkg/__init__.py", "pkg/tests/test_a.py"],
        ["pkg/c.py", "pkg/tests/test_c.py"],
        ["b.txt", "pkg/__init__.py"],
    ]
    assert [sorted(b.present) for b in plan][1:] == [
        ["pkg/tests/test_a.py", "pkg/tests/test_c.py"]
    ] * 2
    assert [len(b.patches) for b in plan] == [1, 2, 3]


# 5. Quiet output -------------------------------------------------------------------


def series_tree(project: Project, cli: Cli, test_body: str) -> Path:
    make_stack(project, cli, [("Add test", {"pkg/tests/test_x.py": test_body})])
    return project.default_worktree


def test_series_tests_print_one_line_on_success(
    project: Project, cli: Cli, fakes: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    tree = series_tree(project, cli, PASS.format("x"))
    capsys.readouterr()
    result = testing.run_series_tests(project, tree, "1.0+x", (), Console())
    assert result == Result(Status.PASSED, "1 passed")
    out = capsys.readouterr().out
    assert out.startswith("series tests: 1 passed in ") and out.count("\n") == 1
    assert "test session starts" in (project.logs_dir / "series-tests.log").read_text()


def test_series_tests_print_pytest_output_on_failure(
    project: Project, cli: Cli, fakes: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    tree = series_tree(project, cli, "def test_x():\n    assert 'left' == 'right'\n")
    capsys.readouterr()
    result = testing.run_series_tests(project, tree, "1.0+x", (), Console())
    assert result.status is Status.FAILED
    out = capsys.readouterr().out
    assert "test session starts" in out and "AssertionError" in out
    assert out.splitlines()[-1].startswith("series tests: FAILED: 1 failed in ")
    assert out.splitlines()[-1].endswith("(log: build/logs/series-tests.log)")


def test_verbose_streams_pytest_output_once(
    project: Project, cli: Cli, fakes: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    tree = series_tree(project, cli, "def test_x():\n    assert 'left' == 'right'\n")
    capsys.readouterr()
    testing.run_series_tests(project, tree, "1.0+x", (), Console(verbose=True))
    out = capsys.readouterr().out
    assert out.count("test session starts") == 1 and "AssertionError" in out


# 3. test PATH ----------------------------------------------------------------------


def test_paths_need_a_work_tree(project: Project, cli: Cli) -> None:
    assert cli("test", "pkg/tests/test_x.py") == (
        1,
        "",
        "seriestool: error: work tree build/work does not exist; run import first\n",
    )


def test_paths_must_exist_in_the_work_tree(project: Project, cli: Cli, tmp_path: Path) -> None:
    assert cli("import")[0] == 0
    assert cli("test", "pkg/tests/test_nope.py")[2] == (
        "seriestool: error: pkg/tests/test_nope.py does not exist in build/work\n"
    )
    outside = tmp_path / "test_elsewhere.py"
    outside.write_text(PASS.format("x"))
    assert cli("test", str(outside))[2] == (
        f"seriestool: error: {outside} is not inside the work tree build/work\n"
    )


def test_paths_run_the_work_tree_as_on_disk(project: Project, cli: Cli, fakes: list[str]) -> None:
    assert cli("import")[0] == 0
    work = project.default_worktree
    # Not committed: the current edit, with the harness told which tree it tests
    (work / "pkg" / "tests").mkdir(parents=True)
    (work / "pkg" / "tests" / "test_new.py").write_text(
        "import os\n\n\ndef test_new():\n"
        f"    assert os.environ['SERIESTOOL_SOURCE_TREE'] == {str(work.resolve())!r}\n"
        "    assert 'SERIESTOOL_EXPECT_VERSION' not in os.environ\n"
    )
    rc, out, err = cli("test", "pkg/tests/test_new.py")
    assert (rc, err) == (0, "")
    assert lines(out, "tests (build/work as on disk): 1 passed in ")
    rc, out, _ = cli("test", str(work / "pkg/tests/test_new.py") + "::test_new", "--", "-k", "x")
    assert (rc, lines(out, "tests ")[0].split(" in ")[0]) == (
        0,
        "tests (build/work as on disk): no tests selected (1 deselected)",
    )


def test_paths_failure(project: Project, cli: Cli, fakes: list[str]) -> None:
    assert cli("import")[0] == 0
    test_file = project.default_worktree / "test_bad.py"
    test_file.write_text("def test_bad():\n    assert False, 'the edit is broken'\n")
    rc, out, err = cli("test", "test_bad.py")
    assert rc == 1
    assert "AssertionError: the edit is broken" in out
    assert err == "seriestool: error: test failed: tests (build/work as on disk)\n"


def test_editable_install_leaves_the_work_tree_as_it_was(
    project: Project, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("import")[0] == 0
    work = project.default_worktree
    (work / "b.txt").write_text("the user's edit\n")

    def fake_pip(self: Console, cmd: list[str], cwd: Path, log: Path, env: object = None) -> Ran:
        # What building an editable wheel does to a tree: rewrite tracked files
        (work / "a.txt").write_text("version file rewritten\n")
        (work / "b.txt").write_text("rewritten too\n")
        return Ran(0, "")

    monkeypatch.setattr(Console, "run", fake_pip)
    venv._install_editable(project, project.dev_venv_dir, work, ["pip"], work / "log", Console())
    assert git(work, "status", "--porcelain") == " M b.txt\n"
    assert (work / "b.txt").read_text() == "the user's edit\n"


# The harness: which distributed may be tested --------------------------------------


def test_harness_refuses_source_tree_unless_asked(tmp_path: Path) -> None:
    tree, site = tmp_path / "work", tmp_path / "site-packages"
    assert import_error("1.0+pins.x", site / "pkg", tree, "1.0+pins.x", None) is None
    assert import_error("1.0+pins.x", tree / "pkg", tree, None, None) == (
        f"distributed imported from the source tree ({tree / 'pkg'})"
    )
    assert import_error("1.0", site / "pkg", tree, None, None) == (
        "distributed 1.0 imported, not a patched build"
    )
    # test PATH: the tree must be what is imported, an installed build must not
    assert import_error("1.0", tree / "pkg", tree, None, tree) is None
    assert import_error("1.0+pins.x", site / "pkg", tree, None, tree) == (
        f"distributed imported from {site / 'pkg'}, not from the source tree {tree}"
    )
    assert "the source tree" in report_header("1.0", tree / "pkg", tree)
    assert report_header("1.0+pins.x", site / "pkg", None).endswith("an installed build")


# 7. docs ---------------------------------------------------------------------------


def test_docs_writes_the_pages_the_series_adds_or_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {**FILES, "docs/source/index.rst": "Index\n", "docs/source/other.rst": "Other\n"}
    project = write_project(tmp_path / "proj", files)

    def cli(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main(list(args), root=project.root)
        out, err = capsys.readouterr()
        return rc, out, err

    assert cli("docs") == (
        1,
        "",
        "seriestool: error: the series adds or changes no file under docs/source/\n",
    )
    assert cli("import")[0] == 0
    commit(
        project.default_worktree,
        "Document pins",
        {
            "docs/source/index.rst": "Index\n   pinning\n",
            "docs/source/guide/pinning.rst": "Pinning\n",
            "pkg/__init__.py": "X = 2\n",
        },
    )
    assert cli("export")[0] == 0
    assert cli("docs") == (0, "build/docs/guide/pinning.rst\nbuild/docs/index.rst\n", "")
    assert (project.docs_dir / "guide" / "pinning.rst").read_text() == "Pinning\n"
    assert (project.docs_dir / "index.rst").read_text() == "Index\n   pinning\n"
    assert not (project.docs_dir / "other.rst").exists()
    out_dir = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    assert cli("docs", "out")[1] == f"{out_dir}/guide/pinning.rst\n{out_dir}/index.rst\n"


def test_check_and_test_note_work_not_in_patches(with_patches: Project, cli: Cli) -> None:
    note = "seriestool: note: build/work "
    assert note not in cli("check")[1]
    work = with_patches.default_worktree
    (work / "b.txt").write_text("edited\n")
    assert (
        f"{note}has uncommitted changes, not in patches/; this run tests patches/\n"
        in (cli("check")[1])
    )
    commit(work, "Change b", {})
    assert (
        f"{note}has commits not exported to patches/ (run export); this run tests patches/\n"
        in cli("check")[1]
    )
    assert cli("export")[0] == 0
    assert note not in cli("check")[1]
    # patches/ moved on (git pull) since the work tree was imported
    (with_patches.patches_dir / "change-b.patch").unlink()
    with_patches.series_file.write_text(
        with_patches.series_file.read_text().replace("change-b.patch\n", "")
    )
    assert (
        f"{note}is older than patches/ (import updates it); this run tests patches/\n"
        in cli("check")[1]
    )
