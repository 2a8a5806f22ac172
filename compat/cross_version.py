"""Cross-version check: the patched build against pristine distributed==2026.8.0, both ways.

    python3 compat/cross_version.py [--same-version] [--worker-mix] [--runs A,B,...]
                                    [--timeout S] [--python BUILD=PATH]

Deployments mix versions: the scheduler and its workers run from a container image while
the cluster manager (``SpecCluster``, ``Adaptive``) and the ``Client`` run in the user's
notebook, and upgrades roll one side first. This runs the same scenario
(``compat/scenario.py``) with the scheduler and workers as OS processes of one build and
the client and cluster manager in a process of the other:

- ``A``: scheduler+workers patched, client+cluster manager pristine;
- ``B``: scheduler+workers pristine, client+cluster manager patched;
- with ``--same-version``, the controls ``PP`` (patched/patched) and ``UU``
  (pristine/pristine);
- with ``--worker-mix``, ``LA``/``LB``: one worker of the other build than the scheduler's
  reaches its ``--lifetime`` (controls ``LPP``/``LUU`` with both flags).

What each check catches: ``compat/README.md``.

It prints one line per check per run and a summary line, writes
``build/compat/results.json`` (logs of every process under ``build/compat/runs/<run>/``),
and exits non-zero if a check failed. Standard library only; the two venvs are those of
the benchmarks (``benchmarks/envs.py``: built, or reused, from ``patches/``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import envs  # noqa: E402
from sessions import kill_session, session_processes  # noqa: E402

OUT = ROOT / "build" / "compat"
SCENARIO = Path(__file__).resolve().parent / "scenario.py"

#: run -> (scheduler+workers build, client+cluster manager build, description, build
#: of one worker with --lifetime, if not the scheduler's)
RUNS: dict[str, tuple[str, str, str, str | None]] = {
    "A": (
        "patched",
        "pristine",
        "scheduler+workers patched, client+cluster manager pristine",
        None,
    ),
    "B": (
        "pristine",
        "patched",
        "scheduler+workers pristine, client+cluster manager patched",
        None,
    ),
    "PP": ("patched", "patched", "control: everything patched", None),
    "UU": ("pristine", "pristine", "control: everything pristine", None),
    "LA": (
        "patched",
        "patched",
        "scheduler, client, one worker patched; one worker pristine, with --lifetime",
        "pristine",
    ),
    "LB": (
        "pristine",
        "pristine",
        "scheduler, client, one worker pristine; one worker patched, with --lifetime",
        "patched",
    ),
    "LPP": (
        "patched",
        "patched",
        "control of LA: the worker with --lifetime patched too",
        "patched",
    ),
    "LUU": (
        "pristine",
        "pristine",
        "control of LB: the worker with --lifetime pristine too",
        "pristine",
    ),
}


def line(run: str, check: str, status: str, seconds: float | None, detail: str) -> None:
    took = f"{seconds:5.1f}s" if seconds is not None else "      "
    print(f"{run:<3} {check:<22} {status:<4} {took}  {detail}", flush=True)


def run_scenario(
    name: str, pythons: dict[str, Path], versions: dict[str, str], timeout: float
) -> dict[str, Any]:
    server, client, description, worker = RUNS[name]
    run_dir = OUT / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"--- {name}: {description} (scheduler {versions[server]}, client {versions[client]})",
        flush=True,
    )
    cmd = [
        str(pythons[client]),
        str(SCENARIO),
        "--server-python",
        str(pythons[server]),
        "--server-build",
        server,
        "--server-version",
        versions[server],
        "--client-build",
        client,
        "--run-dir",
        str(run_dir),
    ]
    if worker is not None:
        cmd += ["--worker-python", str(pythons[worker]), "--worker-version", versions[worker]]
    t0 = time.monotonic()
    stderr_path = OUT / "runs" / f"{name}-client.log"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=OUT,
            start_new_session=True,  # its session holds every process of this run
            env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)},
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.put(raw.decode(errors="replace"))
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    plan: list[str] = []
    checks: dict[str, dict[str, Any]] = {}
    info: list[str] = []
    error = None
    killed = False
    deadline = t0 + timeout
    try:
        while True:
            try:
                raw = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                killed = True
                break
            if raw is None:
                break
            if not raw.startswith("COMPAT "):
                continue
            msg = json.loads(raw[len("COMPAT ") :])
            if "plan" in msg:
                plan = msg["plan"]
            elif "check" in msg:
                checks[msg["check"]] = msg
                line(name, msg["check"], msg["status"], msg["seconds"], msg["detail"])
            elif "info" in msg:
                info.append(msg["info"])
                print(f"{name:<3} {'':<22} info        {msg['info']}", flush=True)
            elif "error" in msg:
                error = msg["error"]
                print(f"{name:<3} {'':<22} error       {error}", flush=True)
        if killed:
            print(f"{name:<3} scenario still running after {timeout:g}s: killing it", flush=True)
        else:
            try:
                proc.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                killed = True
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    except BaseException:  # e.g. Ctrl-C: leave nothing behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kill_session(proc.pid)
        raise
    # Everything the scenario started must be gone by now (it stops what it started);
    # what is left, the driver kills, by pid
    time.sleep(0.2)
    leftovers = kill_session(proc.pid)
    remaining = session_processes(proc.pid)
    listed = "; ".join(f"{pid} {cmd[:120]}" for pid, cmd in leftovers)
    if remaining:
        status, detail = "FAIL", f"could not kill: {remaining}"
    elif leftovers and not killed:
        status, detail = "FAIL", f"the scenario left {len(leftovers)} process(es), killed: {listed}"
    elif leftovers:
        status = "PASS"
        detail = (
            f"the scenario was killed; killed the {len(leftovers)} process(es) it left: {listed}"
        )
    else:
        status, detail = "PASS", "no process of this run left running"
    checks["g.no-leftovers"] = {"status": status, "seconds": None, "detail": detail}
    reason = (
        f"the scenario was killed after {timeout:g}s (this check was running, or not reached)"
        if killed
        else f"not run: {error or f'the scenario exited ({proc.returncode}) before it'}"
    )
    for check in plan or ["scenario"]:
        if check not in checks:
            checks[check] = {"status": "FAIL", "seconds": None, "detail": reason}
            line(name, check, "FAIL", None, f"{reason}; see {stderr_path.relative_to(ROOT)}")
    line(name, "g.no-leftovers", status, None, detail)
    order = [*plan, *(c for c in checks if c not in plan)]
    return {
        "run": name,
        "description": description,
        "scheduler_and_workers": {"build": server, "version": versions[server]},
        "client_and_cluster_manager": {"build": client, "version": versions[client]},
        "worker_with_lifetime": (
            {"build": worker, "version": versions[worker]} if worker is not None else None
        ),
        "command": shlex.join(cmd),
        "exit_code": proc.returncode,
        "killed": killed,
        "error": error,
        "seconds": round(time.monotonic() - t0, 1),
        "info": info,
        "checks": [
            {"check": c, **{k: v for k, v in checks[c].items() if k != "check"}} for c in order
        ],
        "logs": str(run_dir.relative_to(ROOT)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--same-version",
        action="store_true",
        help="also run the controls PP (all patched) and UU (all pristine)",
    )
    parser.add_argument(
        "--worker-mix",
        action="store_true",
        help="also run LA and LB: a worker of the other build than the scheduler's "
        "reaches its --lifetime",
    )
    parser.add_argument("--runs", help=f"comma-separated, from {', '.join(RUNS)}")
    parser.add_argument("--timeout", type=float, default=180, help="hard limit per run, in seconds")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="BUILD=PATH",
        help="use this interpreter for build 'patched' or 'pristine' instead of the venv "
        "of benchmarks/envs.py (e.g. a venv with a candidate fix or another version)",
    )
    args = parser.parse_args()
    runs = ["A", "B"] + (["PP", "UU"] if args.same_version else [])
    runs += ["LA", "LB"] if args.worker_mix else []
    runs += ["LPP", "LUU"] if args.worker_mix and args.same_version else []
    if args.runs:
        runs = [r.strip() for r in args.runs.split(",")]
        if unknown := set(runs) - set(RUNS):
            parser.error(f"unknown runs: {', '.join(sorted(unknown))}")

    # SIGTERM (and SIGINT, even where a shell ignores it) ends the run like Ctrl-C: the
    # processes of the current run are killed before the driver exits
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)

    overrides: dict[str, Path] = {}
    for item in args.python:
        build, _, path = item.partition("=")
        if build not in envs.BUILDS or not path:
            parser.error(f"--python {item}: expected patched=PATH or pristine=PATH")
        overrides[build] = Path(path).absolute()

    t0 = time.monotonic()
    pythons = {} if set(overrides) == set(envs.BUILDS) else envs.builds()
    pythons.update(overrides)
    versions = {b: envs.version(p) for b, p in pythons.items()}
    t_envs = time.monotonic() - t0
    print(
        f"builds: patched {versions['patched']}, pristine {versions['pristine']} "
        f"(venvs ready in {t_envs:.0f}s)",
        flush=True,
    )
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for r in runs:
        try:
            results.append(run_scenario(r, pythons, versions, args.timeout))
        except KeyboardInterrupt as e:
            print(f"interrupted ({e or 'Ctrl-C'}) during run {r}: its processes are killed")
            return 130

    total = sum(len(r["checks"]) for r in results)
    failed = [
        f"{r['run']}:{c['check']}" for r in results for c in r["checks"] if c["status"] == "FAIL"
    ]
    skipped = sum(c["status"] == "SKIP" for r in results for c in r["checks"])
    seconds = time.monotonic() - t0
    data = {
        "command": shlex.join(["python3", "compat/cross_version.py", *sys.argv[1:]]),
        "machine": envs.machine(),
        "versions": versions,
        "seconds": round(seconds, 1),
        "seconds_venvs": round(t_envs, 1),
        "failed": failed,
        "runs": results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "results.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(
        f"summary: {'FAIL' if failed else 'PASS'}: {total} checks in {len(runs)} runs "
        f"({', '.join(runs)}), {total - len(failed) - skipped} passed, {len(failed)} failed"
        f"{' (' + ', '.join(failed) + ')' if failed else ''}, {skipped} skipped; "
        f"{seconds:.0f}s; {path.relative_to(ROOT)}",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
