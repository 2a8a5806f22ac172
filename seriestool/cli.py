"""Command line: ``python3 -m seriestool <command>``."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from .project import Project, SeriesError
from .series import pull_requests, read_series

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
    sub.add_parser(
        "check",
        help="series listing, clean apply (no offset), byte-stable re-export, PR stack:"
        " descriptions, and build and tests at the end of each PR",
    )
    sub.add_parser("build", help="build the patched wheel into dist/")
    sp = sub.add_parser("test", help="check, build, install into .venv, lint, run all tests")
    sp.add_argument(
        "pytest_args",
        nargs="*",
        metavar="PYTEST_ARG",
        help="extra arguments for the series' pytest run (after --)",
    )
    sub.add_parser("lint", help="ruff and mypy on the tool and on the files the series touches")
    sub.add_parser("install", help="build and install the patched wheel into .venv")
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


def run(args: argparse.Namespace, project: Project) -> None:
    # Imports here keep `--help` and argument errors fast.
    from . import build, testing, tree
    from .upstream import upstream

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
        n = tree.check(project)
        what = f"{n} patches apply cleanly and re-export byte for byte"
        prs = pull_requests(read_series(project), project.rel(project.series_file))
        if prs:
            print(f"seriestool: {what}; building and testing the end of each PR")
            if not testing.run_boundary_tests(project, prs):
                raise SeriesError("check failed: tests fail at the end of a pull request")
            what = f"{len(prs)} pull requests build and pass their tests, and {what}"
        print(f"seriestool: check passed: {what}")
    elif args.command == "build":
        with tree.patched_tree(project) as t:
            wheel = build.build_wheel(project, t)
        print(wheel)
    elif args.command == "test":
        testing.test(project, args.pytest_args)
    elif args.command == "lint":
        testing.lint(project)
    elif args.command == "install":
        testing.install(project)
    elif args.command == "upstream":
        path = args.path.resolve()
        branches, start = upstream(project, path, args.prefix)
        print(f"seriestool: {len(branches)} branches in {path}, on top of {start[:12]}:")
        for b in branches:
            print(f"  {b.name}: {b.commits} commits; PR {b.pr.number}: {b.pr.title}")


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        run(args, Project.load(root or ROOT))
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
