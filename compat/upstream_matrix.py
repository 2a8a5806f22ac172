"""Upstream matrix: the series' tests on upstream main, under upstream's own conftest.py.

    python3 compat/upstream_matrix.py [--python 3.10,3.11,...] [--rounds N] [--load N]
                                      [--stress] [-k EXPR] [--tests PATH ...]
                                      [--checkout PATH] [--apply PATCH ...] [--label NAME]
                                      [--timeout S] [--mirror DIR] [-- PYTEST ARGS]

The series' own tests run, in CI, against the patched *sdist* with a harness in place of
upstream's ``conftest.py`` (which the sdist does not ship). Upstream runs them
differently: from the root of a git checkout, with upstream's ``conftest.py`` and
``distributed/pytest_resourceleaks.py`` (``--leaks=fds,processes,threads``), with
``--runslow``, ``timeout_method = "signal"``, on every supported Python. This does that:

1. makes ``build/upstream-matrix/upstream``: a clone of the snapshot of upstream main
   (``--mirror``, default ``/work/.mirror/dask+distributed/repo``) with the series applied
   by ``python3 -m seriestool upstream`` (one branch per pull request, the last one
   checked out), then the patches given with ``--apply`` (``git am -3``); remade only
   when the snapshot, the series or those patches change;
2. makes one venv per Python, ``build/upstream-matrix/venvs/<checkout>-py<X.Y>``, with
   the checkout installed editable (which brings the ``dask`` that upstream pins) and
   ``compat/upstream-matrix-requirements.txt``; remade only when those change;
3. runs every ``test_*.py`` file that the series adds (or ``--tests``), from the
   checkout's root, ``--rounds`` times in a row on each Python, with ``--load``
   busy-loop processes beside it (``python3 -c "while True: pass"``, killed at the end
   whatever happens).

It prints one line per (Python, round) with counts, each failed test under it, and a
summary; writes ``build/upstream-matrix/<label>.json`` (the pytest log and JUnit XML of
every run under ``build/upstream-matrix/<label>/``); exits 1 if any test failed or any run
did not finish, 2 if it could not prepare. ``--stress`` means ``--rounds 20 --load 2`` on
3.11 (unless ``--python``/``--rounds``/``--load`` say otherwise). Every run has a deadline
(``--timeout``); a run that passes it is killed with every process it started, and so is
everything on Ctrl-C or SIGTERM. Standard library only. More in ``compat/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from sessions import kill_session

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "upstream-matrix"
REQUIREMENTS = Path(__file__).resolve().parent / "upstream-matrix-requirements.txt"
DEFAULT_MIRROR = Path("/work/.mirror/dask+distributed/repo")
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
#: what upstream CI passes (pixi.toml, task test-ci), less coverage and its own JUnit path;
#: tests.yaml switches pytest-timeout to signals on Linux
PYTEST_ARGS = [
    "--runslow",
    "--leaks=fds,processes,threads",
    "-o",
    "timeout_method=signal",
    "-p",
    "no:cacheprovider",
    "--color=no",
]
BRANCH_PREFIX = "matrix"


class PrepareError(Exception):
    pass


def log(msg: str) -> None:
    print(msg, flush=True)


def sha256(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "big"))
        h.update(p)
    return h.hexdigest()


def run(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    timeout: float,
    logfile: Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run a preparation step with a deadline; its output goes to ``logfile`` (or is
    returned); raise PrepareError naming the step on failure."""
    try:
        if logfile is not None:
            with logfile.open("ab") as f:
                f.write(f"$ {shlex.join(cmd)}\n".encode())
                f.flush()
                proc = subprocess.run(
                    cmd,
                    cwd=cwd,
                    stdout=f,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=timeout,
                    env=env,
                )
            out = ""
        else:
            proc = subprocess.run(
                cmd,
                cwd=cwd,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                env=env,
            )
            out = proc.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        raise PrepareError(f"{shlex.join(cmd)} took more than {timeout:g}s") from None
    if proc.returncode:
        where = (
            f"; see {logfile}" if logfile else f": {proc.stderr.decode(errors='replace')[-2000:]}"
        )
        raise PrepareError(f"{shlex.join(cmd)} exited {proc.returncode}{where}")
    return out


def git(cwd: Path, *args: str, timeout: float = 120) -> str:
    return run(["git", *args], cwd=cwd, timeout=timeout).strip()


# --- processes -----------------------------------------------------------------------


class Load:
    """``n`` busy-loop processes, each in a session of its own, killed by pid on exit."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Load:
        for _ in range(self.n):
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", "while True: pass"],
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
        self.procs.clear()


# --- preparation ---------------------------------------------------------------------


def find_python(version: str) -> Path:
    """The newest pyenv Python ``version``, else ``python<version>`` on PATH."""
    pyenv = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
    hits = sorted(
        (p for p in pyenv.glob(f"{version}.*/bin/python") if p.exists()),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)],
    )
    if hits:
        return hits[-1]
    found = shutil.which(f"python{version}")
    if found:
        return Path(found)
    raise PrepareError(
        f"no Python {version} found (pyenv, PATH); give one with --python {version}=PATH"
    )


def git_identity_env() -> dict[str, str]:
    """seriestool upstream commits with the user's identity: give one if git has none."""
    env = dict(os.environ)
    probe = subprocess.run(
        ["git", "config", "user.email"], capture_output=True, stdin=subprocess.DEVNULL, timeout=30
    )
    if not probe.stdout.strip():
        for who in ("AUTHOR", "COMMITTER"):
            env.setdefault(f"GIT_{who}_NAME", "upstream matrix")
            env.setdefault(f"GIT_{who}_EMAIL", "upstream-matrix@localhost")
    return env


def series_bytes() -> list[bytes]:
    patches = ROOT / "patches"
    return [
        p.name.encode() + b"\0" + p.read_bytes() for p in sorted(patches.iterdir()) if p.is_file()
    ]


def prepare_checkout(mirror: Path, apply: list[Path]) -> dict[str, Any]:
    """``build/upstream-matrix/upstream``: the snapshot with the series; with ``apply``,
    ``build/upstream-matrix/upstream+<hash>``, so that a run of the plain series is
    never pulled from under its feet."""
    tag = "upstream"
    if apply:
        tag += "+" + sha256(*(p.read_bytes() for p in apply))[:8]
    checkout = OUT / tag
    stamp = OUT / f"{tag}.json"
    if not mirror.exists():
        raise PrepareError(
            f"no snapshot of upstream dask/distributed at {mirror}: give a git repository "
            "(or a checkout) of it with --mirror, or a prepared checkout with --checkout"
        )
    mirror_head = run(
        ["git", "--git-dir", str(_git_dir(mirror)), "rev-parse", "HEAD"], timeout=60
    ).strip()
    key = sha256(mirror_head.encode(), *series_bytes(), *(p.read_bytes() for p in apply))
    if stamp.exists() and checkout.exists():
        info: dict[str, Any] = json.loads(stamp.read_text())
        if info.get("key") == key:
            return info
    log(
        f"prepare: upstream checkout {checkout.relative_to(ROOT)} (snapshot {mirror_head[:10]}, "
        f"series{' + ' + str(len(apply)) + ' patch(es)' if apply else ''})"
    )
    stamp.unlink(missing_ok=True)
    shutil.rmtree(checkout, ignore_errors=True)
    run(["git", "clone", "--quiet", str(mirror), str(checkout)], timeout=600)
    base = git(checkout, "rev-parse", "HEAD")
    env = git_identity_env()
    run(
        [sys.executable, "-m", "seriestool", "upstream", str(checkout), "--prefix", BRANCH_PREFIX],
        cwd=ROOT,
        timeout=300,
        env=env,
    )
    for p in apply:
        run(["git", "am", "-3", "--quiet", str(p.resolve())], cwd=checkout, timeout=120, env=env)
    info = {
        "key": key,
        "path": str(checkout),
        "base": base,
        "head": git(checkout, "rev-parse", "HEAD"),
        "branch": git(checkout, "rev-parse", "--abbrev-ref", "HEAD"),
        "applied": [str(p) for p in apply],
    }
    stamp.write_text(json.dumps(info, indent=1) + "\n")
    return info


def _git_dir(path: Path) -> Path:
    return path / ".git" if (path / ".git").exists() else path


def describe_checkout(checkout: Path, base_ref: str) -> dict[str, Any]:
    for ref in (base_ref, f"origin/{base_ref}"):
        try:
            base = git(checkout, "merge-base", "HEAD", ref)
            break
        except PrepareError:
            continue
    else:
        raise PrepareError(f"{checkout} has no {base_ref} (nor origin/{base_ref}): give --base")
    return {
        "path": str(checkout),
        "base": base,
        "head": git(checkout, "rev-parse", "HEAD"),
        "branch": git(checkout, "rev-parse", "--abbrev-ref", "HEAD"),
        "applied": [],
    }


def venv_dir(checkout: Path, version: str) -> Path:
    tag = "series" if checkout == OUT / "upstream" else "co-" + sha256(str(checkout).encode())[:8]
    return OUT / "venvs" / f"{tag}-py{version}"


def prepare_venv(version: str, python: Path, checkout: Path) -> Path:
    """A venv with the checkout editable and the requirements; remade when they change."""
    venv = venv_dir(checkout, version)
    stamp = venv / "upstream-matrix.json"
    want = {
        "python": str(python),
        "requirements": sha256(REQUIREMENTS.read_bytes()),
        "checkout": str(checkout),
        "pyproject": sha256((checkout / "pyproject.toml").read_bytes()),
    }
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return venv / "bin" / "python"
    logs = OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    logfile = logs / f"{venv.name}.log"
    logfile.write_bytes(b"")
    t0 = time.monotonic()
    log(f"prepare: venv {venv.relative_to(ROOT)} ({python}); pip log {logfile.relative_to(ROOT)}")
    shutil.rmtree(venv, ignore_errors=True)
    run([str(python), "-m", "venv", str(venv)], timeout=300, logfile=logfile)
    py = venv / "bin" / "python"
    run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(REQUIREMENTS),
            "-e",
            str(checkout),
        ],
        timeout=1800,
        logfile=logfile,
    )
    stamp.write_text(json.dumps(want, indent=1) + "\n")
    log(f"prepare: venv {venv.relative_to(ROOT)} ready in {time.monotonic() - t0:.0f}s")
    return py


def versions_of(py: Path) -> dict[str, str]:
    out = run(
        [
            str(py),
            "-c",
            "import sys, dask, distributed, pytest; print(sys.version.split()[0],"
            " dask.__version__, distributed.__version__, distributed.__file__, pytest.__version__)",
        ],
        timeout=120,
    )
    python, dask, distributed, path, pytest = out.split()
    return {
        "python": python,
        "dask": dask,
        "distributed": distributed,
        "distributed_path": path,
        "pytest": pytest,
    }


def series_tests(checkout: Path, base: str) -> list[str]:
    out = git(checkout, "diff", "--name-only", "--diff-filter=A", f"{base}..HEAD")
    return [f for f in out.splitlines() if re.search(r"(^|/)test_[^/]*\.py$", f)]


# --- running -------------------------------------------------------------------------


CURRENT_CHECKOUT = Path()


def node_id(case: ET.Element) -> str:
    """pytest's node id of a JUnit testcase: classname is the dotted path of the module,
    plus the class for a test in a class."""
    parts = case.get("classname", "").split(".")
    name = case.get("name", "")
    for i in range(len(parts), 0, -1):
        module = "/".join(parts[:i]) + ".py"
        if (CURRENT_CHECKOUT / module).exists():
            return "::".join([module, *parts[i:], name])
    return "::".join([*parts, name])


def parse_junit(path: Path) -> dict[str, Any] | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    counts: Counter[str] = Counter()
    failures = []
    for case in root.iter("testcase"):
        counts["tests"] += 1
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "errors", "skipped": "skipped"}[child.tag]
                if child.tag != "skipped":
                    msg = (child.get("message") or "").strip()
                    text = (child.text or "").strip()
                    failures.append(
                        {
                            "test": node_id(case),
                            "kind": "failed" if child.tag == "failure" else "error",
                            "message": msg.splitlines()[0][:400] if msg else "",
                            "details": text[-4000:],
                        }
                    )
                break
        counts[outcome] += 1
    return {
        "tests": counts["tests"],
        "passed": counts["passed"],
        "failed": counts["failed"],
        "errors": counts["errors"],
        "skipped": counts["skipped"],
        "failures": failures,
    }


def last_summary_line(logfile: Path) -> str:
    try:
        lines = logfile.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if re.match(r"^=+ .*(passed|failed|error|no tests ran).* =+$", line):
            return line.strip("= ")
    return lines[-1][:200] if lines else ""


def run_pytest(
    py: Path,
    checkout: Path,
    tests: list[str],
    extra: list[str],
    out_dir: Path,
    name: str,
    timeout: float,
) -> dict[str, Any]:
    logfile = out_dir / f"{name}.log"
    junit = out_dir / f"{name}.xml"
    junit.unlink(missing_ok=True)
    cmd = [str(py), "-m", "pytest", *tests, *PYTEST_ARGS, f"--junitxml={junit}", *extra]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env["DISABLE_IPV6"] = "1"  # as upstream CI on Linux
    t0 = time.monotonic()
    with logfile.open("wb") as f:
        f.write(f"$ cd {checkout} && {shlex.join(cmd)}\n".encode())
        f.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=checkout,
            stdout=f,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    killed = False
    try:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kill_session(proc.pid)
        raise
    seconds = time.monotonic() - t0
    time.sleep(0.2)
    leftovers = kill_session(proc.pid)
    result: dict[str, Any] = {
        "exit_code": proc.returncode,
        "killed": killed,
        "seconds": round(seconds, 1),
        "leftovers": [f"{pid} {cmd[:160]}" for pid, cmd in leftovers],
        "log": str(logfile.relative_to(ROOT)),
        "junit": str(junit.relative_to(ROOT)),
    }
    parsed = parse_junit(junit)
    if parsed is None:
        parsed = {"tests": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failures": []}
    result.update(parsed)
    # upstream's resource-leak checker reports leaks without failing (CI does not pass
    # --leaks-fail): kept as information
    try:
        text = logfile.read_text(errors="replace")
    except OSError:
        text = ""
    result["leaked"] = re.findall(r"^(\S+::\S+ leaking \w+: .*)$", text, re.MULTILINE)
    if killed:
        status = "TIMEOUT"
    elif (
        proc.returncode in (0,)
        and not parsed["failed"]
        and not parsed["errors"]
        and parsed["tests"]
    ):
        status = "PASS"
    else:
        status = "FAIL"
    if status == "FAIL" and not parsed["failures"]:
        result["failures"] = [
            {
                "test": "(pytest)",
                "kind": "error",
                "message": f"exit code {proc.returncode}: {last_summary_line(logfile)}",
                "details": "",
            }
        ]
    result["status"] = status
    return result


def main() -> int:
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Arguments after -- go to pytest. More: compat/README.md",
    )
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="X.Y[,X.Y...]|X.Y=PATH",
        help=f"Pythons to run on (default {','.join(PYTHONS)}; with --stress 3.11); "
        "X.Y=PATH uses that interpreter",
    )
    parser.add_argument(
        "--rounds", type=int, help="runs in a row on each Python (default 1; 20 with --stress)"
    )
    parser.add_argument(
        "--load", type=int, help="busy-loop processes beside the runs (default 0; 2 with --stress)"
    )
    parser.add_argument(
        "--stress",
        action="store_true",
        help="--rounds 20 --load 2, on 3.11 unless --python says otherwise",
    )
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    parser.add_argument(
        "--tests",
        nargs="+",
        metavar="PATH",
        help="test files or folders (relative to the checkout) instead of the "
        "test files the series adds",
    )
    parser.add_argument(
        "--checkout",
        type=Path,
        help="use this git checkout of dask/distributed as it is (its HEAD) "
        "instead of preparing build/upstream-matrix/upstream",
    )
    parser.add_argument(
        "--base",
        default="main",
        help="with --checkout: the upstream commit the series starts from "
        "(default: main), to find the test files it adds",
    )
    parser.add_argument(
        "--apply",
        nargs="+",
        default=[],
        type=Path,
        metavar="PATCH",
        help="git am these patches on top of the series (e.g. candidate fixes)",
    )
    parser.add_argument(
        "--mirror",
        type=Path,
        default=Path(os.environ.get("UPSTREAM_MATRIX_MIRROR", DEFAULT_MIRROR)),
        help=f"snapshot of upstream main to clone (default {DEFAULT_MIRROR}, "
        "or $UPSTREAM_MATRIX_MIRROR)",
    )
    parser.add_argument(
        "--skip-without-mirror",
        action="store_true",
        help="exit 0 with a note, instead of 2, when there is no snapshot to clone "
        "(for CI on a machine without one)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800,
        help="deadline of one pytest run, in seconds (default 1800)",
    )
    parser.add_argument(
        "--label",
        help="name of the results: build/upstream-matrix/<label>.json "
        "and <label>/ (default 'matrix', or 'stress')",
    )
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="prepare the checkout and the venvs, run nothing",
    )
    args = parser.parse_args(argv)
    if args.checkout and args.apply:
        parser.error("--apply needs the prepared checkout, not --checkout")
    for patch in args.apply:
        if not patch.is_file():
            parser.error(f"--apply {patch}: no such file")
    rounds = args.rounds if args.rounds is not None else (20 if args.stress else 1)
    load = args.load if args.load is not None else (2 if args.stress else 0)
    label = args.label or ("stress" if args.stress else "matrix")
    if rounds < 1 or load < 0:
        parser.error("--rounds must be at least 1, --load at least 0")
    chosen: dict[str, Path | None] = {}
    for item in args.python or ["3.11" if args.stress else ",".join(PYTHONS)]:
        for part in item.split(","):
            ver, _, path = part.strip().partition("=")
            if not re.fullmatch(r"3\.\d+", ver):
                parser.error(f"--python {part}: expected X.Y or X.Y=PATH")
            chosen[ver] = Path(path) if path else None

    # SIGTERM, SIGHUP (and SIGINT, even where a shell ignores it) end the run like Ctrl-C:
    # the current pytest run, its processes and the busy loops are killed before exiting
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, interrupt)

    t_start = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with (OUT / "prepare.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if args.checkout:
                checkout = args.checkout.resolve()
                info = describe_checkout(checkout, args.base)
            else:
                if args.skip_without_mirror and not args.mirror.exists():
                    log(f"upstream_matrix: skipped: no snapshot of upstream at {args.mirror}")
                    return 0
                info = prepare_checkout(args.mirror, args.apply)
                checkout = Path(info["path"])
            pythons = {v: (p if p else find_python(v)) for v, p in chosen.items()}
            venvs: dict[str, Path] = {}
            errors: list[str] = []

            def make(v: str) -> None:
                try:
                    venvs[v] = prepare_venv(v, pythons[v], checkout)
                except PrepareError as e:
                    errors.append(str(e))

            threads = [threading.Thread(target=make, args=(v,), daemon=True) for v in pythons]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=2400)
            if errors or len(venvs) != len(pythons):
                raise PrepareError("; ".join(errors) or "a venv was not ready within 2400s")
            versions = {v: versions_of(venvs[v]) for v in pythons}
    except PrepareError as e:
        log(f"upstream_matrix: error: {e}")
        return 2
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'Ctrl-C'}) while preparing")
        return 130
    t_prepare = time.monotonic() - t_start
    global CURRENT_CHECKOUT
    CURRENT_CHECKOUT = checkout
    tests = args.tests or series_tests(checkout, info["base"])
    if not tests:
        log(f"upstream_matrix: error: no test files added between {info['base'][:10]} and HEAD")
        return 2
    pytest_extra = (["-k", args.keyword] if args.keyword else []) + extra
    log(
        f"checkout: {checkout} at {info['head'][:10]} ({info['branch']}), base {info['base'][:10]}"
        f"{', + ' + ', '.join(info['applied']) if info['applied'] else ''}"
    )
    for v, ver in versions.items():
        log(
            f"python {v}: {ver['python']}, dask {ver['dask']}, distributed {ver['distributed']}, "
            f"pytest {ver['pytest']} ({venvs[v].parent.parent.relative_to(ROOT)})"
        )
    log(f"tests: {len(tests)} path(s): {' '.join(tests)}")
    log(
        f"prepared in {t_prepare:.0f}s; {rounds} round(s) x {len(versions)} Python(s), "
        f"load {load}, timeout {args.timeout:g}s per run{'; -k ' + args.keyword if args.keyword else ''}"
    )
    if args.prepare_only:
        return 0

    out_dir = OUT / label
    out_dir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    interrupted = None
    t_runs = time.monotonic()
    try:
        with Load(load):
            for r in range(1, rounds + 1):
                for v in versions:
                    name = f"py{v}-r{r:02d}"
                    res = run_pytest(
                        venvs[v], checkout, tests, pytest_extra, out_dir, name, args.timeout
                    )
                    res.update({"python": v, "round": r})
                    runs.append(res)
                    log(
                        f"{v:<5} round {r:>2}/{rounds}  {res['status']:<7} {res['tests']:>4} tests: "
                        f"{res['passed']} passed, {res['failed']} failed, {res['errors']} errors, "
                        f"{res['skipped']} skipped, {len(res['leaked'])} leaked  "
                        f"{res['seconds']:7.1f}s  load {load}"
                        + (
                            f"  (left {len(res['leftovers'])} process(es), killed)"
                            if res["leftovers"]
                            else ""
                        )
                    )
                    for f in res["failures"]:
                        log(f"      {f['kind'].upper()} {f['test']}: {f['message'][:300]}")
                    if res["status"] == "TIMEOUT":
                        log(f"      killed after {args.timeout:g}s; see {res['log']}")
    except KeyboardInterrupt as e:
        interrupted = str(e) or "Ctrl-C"
        log(f"interrupted ({interrupted}): the current run and the busy loops are killed")
    seconds_runs = time.monotonic() - t_runs

    bad = [r for r in runs if r["status"] != "PASS"]
    per_python = {}
    for v in versions:
        mine = [r for r in runs if r["python"] == v]
        failing = Counter(f["test"] for r in mine for f in r["failures"])
        per_python[v] = {
            "rounds": len(mine),
            "green": sum(r["status"] == "PASS" for r in mine),
            "seconds": [r["seconds"] for r in mine],
            "failing_tests": dict(failing.most_common()),
            "leaks": dict(Counter(x for r in mine for x in r["leaked"]).most_common()),
        }
    data = {
        "command": shlex.join(["python3", "compat/upstream_matrix.py", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_end": os.getloadavg(),
        },
        "checkout": info,
        "tests": tests,
        "pytest_args": PYTEST_ARGS + pytest_extra,
        "load": load,
        "rounds": rounds,
        "versions": versions,
        "seconds_prepare": round(t_prepare, 1),
        "seconds_runs": round(seconds_runs, 1),
        "interrupted": interrupted,
        "per_python": per_python,
        "runs": runs,
    }
    path = OUT / f"{label}.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    for v, p in per_python.items():
        flaky = ", ".join(f"{t} ({n}/{p['rounds']})" for t, n in p["failing_tests"].items())
        secs = p["seconds"]
        timing = f"{min(secs):.0f}-{max(secs):.0f}s per round" if secs else "not run"
        log(
            f"summary {v}: {p['green']}/{p['rounds']} rounds green, {timing}"
            + (f"; failing: {flaky}" if flaky else "")
        )
    ok = not bad and not interrupted and len(runs) == rounds * len(versions)
    log(
        f"summary: {'PASS' if ok else 'FAIL'}: {len(runs)} run(s), {len(bad)} not green; "
        f"{sum(r['passed'] for r in runs)} passed, {sum(r['failed'] for r in runs)} failed, "
        f"{sum(r['errors'] for r in runs)} errors in total; prepare {t_prepare:.0f}s, "
        f"runs {seconds_runs:.0f}s; {path.relative_to(ROOT)}"
    )
    if interrupted:
        return 130
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
