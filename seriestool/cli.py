"""Command line: ``python3 -m seriestool <command>``."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from .project import Project, SeriesError

ROOT = Path(__file__).resolve().parent.parent


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise SeriesError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python3 -m seriestool",
        description="Maintain the worker-pinning patch series against the distributed sdist.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def worktree(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--worktree",
            type=Path,
            default=None,
            help="git work tree of the patched sdist (default build/work)",
        )

    sp = sub.add_parser("import", help="create build/work: pristine sdist + one commit per patch")
    worktree(sp)
    sp.add_argument(
        "--force",
        action="store_true",
        help="replace the work tree even if it holds unexported work",
    )
    worktree(sub.add_parser("export", help="write base..HEAD of the work tree to patches/"))

    def verbose(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="print the output of pip, ruff, mypy and pytest as they run"
            " (by default: one line per step, the full output only when a step fails;"
            " logs in build/logs/)",
        )

    def all_boundary_tests(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--all-boundary-tests",
            action="store_true",
            help="at the end of each pull request run every test file there, not only"
            " the PR's own and those of earlier PRs whose code it changes too",
        )

    sp = sub.add_parser(
        "check",
        help="series listing, clean apply (no offset), byte-stable re-export, PR stack:"
        " descriptions, and build and tests at the end of each PR",
        description="Check the series: every patch listed and applying with no offset,"
        " a fresh import re-exports byte for byte, the PR stack and its descriptions; then,"
        " at the end of each pull request, build the series up to there (wheels are"
        " cached in build/cache/wheels/ by content), install it into build/boundary-venv"
        " and run the PR's test files, those of earlier PRs whose code it changes too,"
        " and at the last PR all test files.",
    )
    all_boundary_tests(sp)
    verbose(sp)
    verbose(sub.add_parser("build", help="build the patched wheel into dist/"))
    sp = sub.add_parser(
        "test",
        usage="%(prog)s [-h] [--quick] [--all-boundary-tests] [-v] [--worktree WORKTREE]"
        " [PATH ...] [-- PYTEST_ARG ...]",
        help="check, build, install into .venv, lint, run all tests (what CI runs);"
        " --quick; test PATH runs test files of build/work",
        description="Without PATH, what CI runs: check (without the PR ends), build the wheel"
        " (cached), install it into .venv, the tool's tests, lint, the series' tests"
        " against the installed wheel, then the end of each pull request of the stack"
        " (see check). With PATH: only those test files, against the work tree"
        " build/work as it is on disk (uncommitted changes included), through an editable"
        " install in build/dev-venv; no wheel, no check, no lint. Arguments after --"
        " go to pytest, e.g. test -- -k pin_workers; a pytest run that selects no test"
        " is reported as 'no tests selected', not as a failure.",
    )
    sp.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="test files (or node ids) of the work tree, relative to it"
        " (distributed/tests/test_x.py) or absolute",
    )
    sp.add_argument(
        "--quick",
        action="store_true",
        help="the edit loop: everything but the end of each pull request of the stack"
        " (the builds, installs and tests in build/boundary-venv) and the cross-version"
        " check (compat/cross_version.py); run the full test before pushing",
    )
    all_boundary_tests(sp)
    verbose(sp)
    worktree(sp)
    sp = sub.add_parser(
        "docs",
        help="write the docs/source/ files the series adds or changes to DIR (default build/docs/)",
    )
    sp.add_argument("dir", nargs="?", type=Path, default=None, metavar="DIR")
    verbose(
        sub.add_parser("lint", help="ruff and mypy on the tool and on the files the series touches")
    )
    verbose(sub.add_parser("install", help="build and install the patched wheel into .venv"))
    sp = sub.add_parser(
        "upstream", help="one branch per pull request in a dask/distributed checkout"
    )
    sp.add_argument("path", type=Path, help="git checkout of dask/distributed")
    sp.add_argument(
        "--prefix",
        default="worker-pinning",
        help="branches <prefix>/<nn>-<title>, one per PR (default worker-pinning)",
    )
    return p


def run(args: argparse.Namespace, project: Project, pytest_args: list[str]) -> None:
    # Imports here keep `--help` and argument errors fast.
    from . import build, testing, tree
    from .console import Console
    from .docs import write_docs
    from .upstream import upstream

    if pytest_args and args.command != "test":
        raise SeriesError(f"arguments after -- are for test only, not for {args.command}")

    def worktree_path() -> Path:
        path: Path = args.worktree or project.default_worktree
        return path if path.is_absolute() else project.root / path

    if args.command == "import":
        wt = worktree_path()
        n = tree.import_(project, wt, force=args.force)
        print(f"seriestool: imported {n} patches into {project.rel(wt)}", end="")
        print(" (pristine sdist tagged 'base')")
    elif args.command == "export":
        wt = worktree_path()
        changed = tree.export(project, wt)
        what = ", ".join(changed) if changed else "nothing changed"
        print(f"seriestool: exported {project.rel(wt)} to patches/: {what}")
    elif args.command == "check":
        testing.check(project, all_boundary_tests=args.all_boundary_tests, verbose=args.verbose)
    elif args.command == "build":
        wheel = build.get_wheel(project, console=Console(args.verbose))
        print(build.publish(project, wheel))
    elif args.command == "test" and args.paths:
        if args.quick or args.all_boundary_tests:
            raise SeriesError(
                "test PATH runs only the given test files: no --quick or --all-boundary-tests"
            )
        testing.test_paths(project, worktree_path(), args.paths, pytest_args, verbose=args.verbose)
    elif args.command == "test":
        testing.test(
            project,
            pytest_args,
            quick=args.quick,
            all_boundary_tests=args.all_boundary_tests,
            verbose=args.verbose,
        )
    elif args.command == "docs":
        dest = args.dir.resolve() if args.dir is not None else project.docs_dir
        written = write_docs(project, dest)
        if not written:
            raise SeriesError("the series adds or changes no file under docs/source/")
        for path in written:
            print(project.rel(path))
    elif args.command == "lint":
        testing.lint(project, verbose=args.verbose)
    elif args.command == "install":
        testing.install(project, verbose=args.verbose)
    elif args.command == "upstream":
        path = args.path.resolve()
        branches, start = upstream(project, path, args.prefix)
        print(f"seriestool: {len(branches)} branches in {path}, on top of {start[:12]}:")
        for b in branches:
            print(f"  {b.name}: {b.commits} commits; PR {b.pr.number}: {b.pr.title}")


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    try:
        argv = sys.argv[1:] if argv is None else argv
        # Everything after the first "--" goes to pytest (test only).
        cut = argv.index("--") if "--" in argv else len(argv)
        args = _parser().parse_args(argv[:cut])
        run(args, Project.load(root or ROOT), argv[cut + 1 :])
    except SeriesError as e:
        print(f"seriestool: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("seriestool: error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in the tool; still one line unless asked for more
        if os.environ.get("SERIESTOOL_DEBUG"):
            traceback.print_exc()
        print(
            f"seriestool: error: unexpected {type(e).__name__}: {e}"
            " (set SERIESTOOL_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1
    return 0
