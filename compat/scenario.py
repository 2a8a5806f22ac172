"""One cross-version run, executed by the interpreter of the CLIENT build.

    <client venv>/bin/python compat/scenario.py --server-python <server venv>/bin/python \
        --server-build patched --client-build pristine --run-dir build/compat/runs/A

This process is the user's notebook: it holds the ``Client`` and the cluster manager, a
``SpecCluster`` subclass with ``Adaptive``, of its own build. The scheduler and every
worker are OS processes of the SERVER build (``<server python> -m
distributed.cli.dask_scheduler`` / ``dask_worker``), started and stopped by the cluster
manager through ``ProcessInterface`` subclasses, as dask-jobqueue or the Kubernetes
operator start theirs.

Protocol with the driver (``compat/cross_version.py``): every line on stdout that
starts with ``COMPAT `` is one JSON object: first ``{"plan": [check names]}``, then one
``{"check": name, "status": "PASS"|"FAIL"|"SKIP", "detail": ..., "seconds": ...}`` per
check as soon as it is done, and ``{"info": ...}`` lines. Everything else (logs) goes to
stderr. Each check has its own deadline; whatever happens, every process this scenario
started is stopped before it exits (the driver double-checks, by session id).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import dask
import distributed
from distributed import Client, wait
from distributed.deploy.spec import ProcessInterface, SpecCluster

#: Every process this scenario started, for the last-resort cleanup
PROCS: list[subprocess.Popen] = []
#: Its log name (what it is), by pid
LABELS: dict[int, str] = {}


def emit(**obj: Any) -> None:
    print("COMPAT " + json.dumps(obj, default=str), flush=True)


class CheckFailed(Exception):
    pass


class Skip(Exception):
    pass


# --------------------------------------------------------------------------------------
# Processes of the server build, started by the cluster manager of the client build
# --------------------------------------------------------------------------------------


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(python: str, args: list[str], run_dir: Path, log_name: str) -> subprocess.Popen:
    """Start ``python -m <args>`` with its output in ``run_dir/log_name.log``"""
    with (run_dir / f"{log_name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [python, "-m", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=run_dir,
            env=_server_env(),
        )
    PROCS.append(proc)
    LABELS[proc.pid] = log_name
    return proc


async def stop(procs: list[subprocess.Popen], grace: float = 5.0, patience: float = 0) -> None:
    """Wait ``patience`` seconds for them to exit by themselves, then SIGTERM, then
    SIGKILL after ``grace`` seconds; returns once all have exited"""
    deadline = time.monotonic() + patience
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for p in procs:
        if p.poll() is None:
            p.kill()
    deadline = time.monotonic() + 5
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def log_tail(run_dir: Path, log_name: str, lines: int = 5) -> str:
    try:
        text = (run_dir / f"{log_name}.log").read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


class SchedulerProcess(ProcessInterface):
    """``python -m distributed.cli.dask_scheduler`` of the server build"""

    def __init__(self, python: str, run_dir: str, label: str = "scheduler"):
        super().__init__()
        self.python = python
        self.run_dir = Path(run_dir)
        self.label = label
        self.proc: subprocess.Popen | None = None

    async def start(self) -> None:
        scheduler_file = self.run_dir / f"{self.label}.json"
        scheduler_file.unlink(missing_ok=True)
        self.proc = spawn(
            self.python,
            [
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            self.run_dir,
            self.label,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.address = json.loads(scheduler_file.read_text())["address"]
                break
            except (OSError, ValueError, KeyError):
                await asyncio.sleep(0.05)
        else:
            await stop([self.proc])
            raise RuntimeError(
                f"scheduler of {self.python} did not start within 30s "
                f"(exit code {self.proc.returncode}): {log_tail(self.run_dir, self.label)}"
            )
        await super().start()

    async def close(self) -> None:
        if self.proc is not None:
            await stop([self.proc])
        await super().close()


class WorkerProcess(ProcessInterface):
    """One job of the cluster: ``python -m distributed.cli.dask_worker`` of the server
    build, or one such process per suffix of ``group`` (a job with several workers, as
    dask-jobqueue runs with ``processes > 1``), named ``f"{name}{suffix}"``.
    """

    def __init__(
        self,
        scheduler: str,
        name: str,
        python: str,
        run_dir: str,
        group: list[str] | None = None,
        extra_args: list[str] | None = None,
    ):
        super().__init__(scheduler=scheduler, name=name)
        self.scheduler = scheduler
        self.name = name
        self.python = python
        self.run_dir = Path(run_dir)
        self.worker_names = [f"{name}{s}" for s in group] if group else [str(name)]
        self.extra_args = list(extra_args or ())
        self.procs: list[subprocess.Popen] = []

    async def start(self) -> None:
        for worker_name in self.worker_names:
            self.procs.append(
                spawn(
                    self.python,
                    [
                        "distributed.cli.dask_worker",
                        self.scheduler,
                        "--name",
                        worker_name,
                        "--nthreads",
                        "1",
                        "--memory-limit",
                        "1GiB",
                        "--host",
                        "127.0.0.1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--death-timeout",
                        "30",
                        "--local-directory",
                        str(self.run_dir / "scratch"),
                        *self.extra_args,
                    ],
                    self.run_dir,
                    f"worker-{worker_name}",
                )
            )
        # Like a batch system, the job is submitted; the workers join when they are up
        await super().start()

    async def close(self) -> None:
        # Usually the scheduler has just asked the workers to close (retire_workers);
        # this is the forceful part, as in a batch system's job cancellation. Give
        # them a second to finish first: a `dask worker` that gets SIGTERM while it
        # closes on the scheduler's request can hang (its close is cancelled half-way)
        # until SIGKILL, which only slows this harness down.
        await stop(self.procs, patience=1.0)
        await super().close()


class CompatCluster(SpecCluster):
    """A cluster manager as dask-jobqueue's: string names, one ``worker_spec`` entry per
    job, the scheduler and workers as processes of another build."""

    def __init__(
        self,
        python: str,
        run_dir: Path,
        n: int,
        group: list[str] | None,
        workers: dict[str, dict[str, Any]] | None = None,
        **kw: Any,
    ):
        self._prefix = "j" if group else "w"
        options: dict[str, Any] = {"python": python, "run_dir": str(run_dir)}
        if group:
            options["group"] = group
        worker: dict[str, Any] = {"cls": WorkerProcess, "options": options}
        if group:
            worker["group"] = group
        super().__init__(
            scheduler={
                "cls": SchedulerProcess,
                "options": {
                    "python": python,
                    "run_dir": str(run_dir),
                    "label": "scheduler-grouped" if group else "scheduler",
                },
            },
            workers=workers or {f"{self._prefix}{i}": worker for i in range(n)},
            worker=worker,
            asynchronous=True,
            name="compat-grouped" if group else "compat",
            **kw,
        )

    def _new_worker_name(self, worker_number: int) -> str:
        return f"{self._prefix}{worker_number}"


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


class ErrorLog(logging.Handler):
    """Keeps the errors that distributed logs in this process: errors, and warnings
    with an exception (``Adaptive`` logs the failures of its cycles as those)"""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.ERROR and not record.exc_info:
            return
        msg = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            e = record.exc_info[1]
            msg = f"{msg} [{type(e).__name__}: {e}]"
        self.records.append((time.monotonic(), f"{record.name}: {msg}"))

    def since(self, t0: float, limit: int = 3) -> list[str]:
        seen: list[str] = []
        for t, msg in self.records:
            if t >= t0 and msg not in seen:
                seen.append(msg)
        return [m[:600] for m in seen[-limit:]]


ERRORS = ErrorLog()


async def poll(
    condition: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.1
) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if await condition():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval)


async def identity(client: Client) -> dict[str, Any]:
    """The scheduler's identity with all its workers, as a client reads it"""
    return await asyncio.wait_for(client.scheduler.identity(n_workers=-1), 10)


def watcher_state(cluster: SpecCluster) -> str | None:
    """Why ``cluster.scheduler_info`` no longer follows the scheduler, if it does not"""
    watcher = cluster._watch_worker_status_task
    if watcher is None or not watcher.done():
        return None
    exc = None if watcher.cancelled() else watcher.exception()
    return f"the cluster's worker-status watcher task ended with {exc!r}"


def names_of(info: dict[str, Any]) -> set[str]:
    return {str(w["name"]) for w in info["workers"].values()}


def version_pattern(version: str) -> re.Pattern[str]:
    """``version`` as a whole word: "2026.8.0" but not "2026.8.0+pins.abc" """
    return re.compile(rf"(?<![\w.+]){re.escape(version)}(?![\w+]|\.\w)")


class Counter:
    n = 0

    def increment(self) -> int:
        self.n += 1
        return self.n


#: --lifetime of the worker of the other build in h.lifetime-drain, in seconds
LIFETIME = 5


def _task_prefixes(dask_scheduler: Any) -> list[str]:
    return sorted(dask_scheduler.task_prefixes)


# --------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------


class Scenario:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.server = args.server_build
        self.client_build = args.client_build
        self.server_version = args.server_version
        self.run_dir = Path(args.run_dir)
        self.client: Client | None = None
        self.cluster: CompatCluster | None = None
        self.pins: Any = None  # WorkerPins held between b1 and b3
        self.actor_future: Any = None
        self.actor_worker: str | None = None
        self.p2p_pinned: list[str] = []
        self.failed: list[str] = []

    def plan(self) -> list[str]:
        if self.args.worker_python:
            return ["h.lifetime-drain"]
        checks = ["a.p2p-shuffle"]
        if self.client_build == "patched":
            checks += ["b1.pin_workers", "b2.downscaling_report"]
        else:
            checks += ["b1.actor-pin"]
        checks += ["e.identity"]
        checks += ["b3.unpin_workers" if self.client_build == "patched" else "b3.actor-release"]
        checks += ["c.mirror-join-leave", "d.adaptive-shrink", "f.close", "d2.adaptive-jobs"]
        return checks

    async def check(self, name: str, fn: Callable[[], Awaitable[Any]], timeout: float) -> bool:
        t0 = time.monotonic()
        status, detail = "PASS", ""
        try:
            detail = await asyncio.wait_for(fn(), timeout) or ""
        except Skip as e:
            status, detail = "SKIP", str(e)
        except CheckFailed as e:
            status, detail = "FAIL", str(e)
        except TimeoutError:
            status, detail = "FAIL", f"no result within the check's deadline of {timeout:g}s"
        except Exception as e:
            status = "FAIL"
            detail = f"{type(e).__name__}: {e}"
            traceback.print_exc()
        if status == "FAIL":
            self.failed.append(name)
            errors = ERRORS.since(t0)
            if errors:
                detail += "; errors logged by the client process: " + " || ".join(errors)
        emit(check=name, status=status, detail=detail, seconds=round(time.monotonic() - t0, 2))
        return status != "FAIL"

    # a ---------------------------------------------------------------------------------
    async def a_p2p_shuffle(self) -> str:
        import dask.dataframe as dd
        import numpy as np
        import pandas as pd

        client = self.client
        assert client is not None
        pdf = pd.DataFrame({"x": np.arange(2_000) % 23, "y": np.arange(2_000)})
        ddf = dd.from_pandas(pdf, npartitions=8)
        with dask.config.set({"dataframe.shuffle.method": "p2p"}):
            shuffled = client.persist(ddf.shuffle("x"))
        await wait(shuffled)
        futures = distributed.futures_of(shuffled)
        parts = await client.gather(futures)
        del shuffled, futures
        result = pd.concat(parts).sort_values("y").reset_index(drop=True)
        if not result.equals(pdf):
            raise CheckFailed(f"wrong result: {len(result)} rows, expected {len(pdf)}")
        owners = [set(p["x"]) for p in parts]
        split = [x for x in range(23) if sum(x in o for o in owners) != 1]
        if split:
            raise CheckFailed(f"not shuffled on x: values {split} in several partitions")
        prefixes = await client.run_on_scheduler(_task_prefixes)
        if not any("shuffle-transfer" in p or "shuffle_transfer" in p for p in prefixes):
            raise CheckFailed(f"no P2P transfer tasks ran; task prefixes: {prefixes}")
        detail = f"{len(pdf)} rows, each of 23 keys in one of {len(parts)} partitions, P2P"
        if self.server == "patched":
            events = await client.get_events("worker-pins")
            self.p2p_pinned = sorted(
                {w for _, e in events if e.get("action") == "pin-workers" for w in e["workers"]}
            )
            detail += f"; the run pinned {len(self.p2p_pinned)} workers on the scheduler"
        return detail

    # b, patched client -------------------------------------------------------------------
    def expect_no_pins_error(self, e: BaseException, t: float) -> str:
        msg = f"{type(e).__name__}: {e}"
        problems = []
        if t > 5:
            problems.append(f"took {t:.1f}s")
        if isinstance(e, AttributeError):
            problems.append("an AttributeError")
        if not re.search(r"worker[ -]pin", str(e), re.IGNORECASE):
            problems.append("does not say that the scheduler has no worker pins")
        if not version_pattern(self.server_version).search(str(e)):
            problems.append(f"does not name the scheduler's version {self.server_version}")
        if problems:
            raise CheckFailed(f"{'; '.join(problems)}: {msg}")
        return f"raised at once ({t:.2f}s): {msg}"

    async def against_old_scheduler(self, call: Callable[[], Awaitable[Any]]) -> str:
        t0 = time.monotonic()
        try:
            result = await asyncio.wait_for(call(), 10)
        except TimeoutError:
            raise CheckFailed("no answer within 10s (hangs)") from None
        except Exception as e:
            return self.expect_no_pins_error(e, time.monotonic() - t0)
        raise CheckFailed(
            f"a scheduler without worker pins ({self.server_version}) answered {result!r}, no error"
        )

    async def b1_pin_workers(self) -> str:
        client = self.client
        assert client is not None
        workers = sorted((await identity(client))["workers"])
        if self.server == "pristine":

            async def call() -> Any:
                return await client.pin_workers(workers)

            return await self.against_old_scheduler(call)
        self.pins = await asyncio.wait_for(client.pin_workers(workers, timeout="10m"), 10)
        if sorted(self.pins.workers) != workers or self.pins.unknown:
            raise CheckFailed(f"pinned {self.pins.workers}, unknown {self.pins.unknown}")
        holder = self.pins.pinned_by

        async def shown() -> bool:
            info = await identity(client)
            return all(holder in w.get("pinned_by", ()) for w in info["workers"].values())

        if not await poll(shown, 10):
            raise CheckFailed(f"identity does not show {holder} in pinned_by of every worker")
        return f"pinned {len(workers)} workers as {holder}; identity shows it"

    async def b2_downscaling_report(self) -> str:
        client = self.client
        assert client is not None
        if self.server == "pristine":

            async def call() -> Any:
                return await client.downscaling_report()

            return await self.against_old_scheduler(call)
        report = await asyncio.wait_for(client.downscaling_report(), 10)
        holder = self.pins.pinned_by if self.pins is not None else None
        kept = {
            w: r["reasons"]
            for w, r in report["workers"].items()
            if not r["removable"]
            and any(x["reason"] == "pinned" and holder in x["pinned_by"] for x in r["reasons"])
        }
        if holder is None or len(kept) != len(report["workers"]):
            raise CheckFailed(f"report does not show every worker pinned by {holder}: {report}")
        return f"{len(kept)} workers kept, reason 'pinned' by {holder}"

    async def b3_unpin_workers(self) -> str:
        client = self.client
        assert client is not None
        if self.server == "pristine":

            async def call() -> Any:
                return await client.unpin_workers("compat-holder")

            return await self.against_old_scheduler(call)
        if self.pins is None:
            raise CheckFailed("no pins to release (b1 failed)")
        holder = self.pins.pinned_by
        result = await asyncio.wait_for(client.unpin_workers(holder), 10)
        if sorted(result.get("unpinned", ())) != sorted(self.pins.workers):
            raise CheckFailed(f"unpin_workers({holder!r}) answered {result}")
        await asyncio.wait_for(self.pins.release(), 10)  # idempotent

        async def gone() -> bool:
            info = await identity(client)
            return not any(holder in w.get("pinned_by", ()) for w in info["workers"].values())

        if not await poll(gone, 10):
            raise CheckFailed(f"{holder} still in pinned_by after release")
        self.pins = None
        return f"released {holder}: {result}"

    # b, pristine client ------------------------------------------------------------------
    async def b1_actor_pin(self) -> str:
        client = self.client
        assert client is not None
        self.actor_future = client.submit(Counter, actor=True, key="compat-counter")
        counter = await asyncio.wait_for(self.actor_future, 15)
        n = await asyncio.wait_for(counter.increment(), 10)
        if n != 1:
            raise CheckFailed(f"actor answered {n}, expected 1")
        who_has = await client.scheduler.who_has(keys=[self.actor_future.key])
        self.actor_worker = next(iter(who_has[self.actor_future.key]))
        if self.server == "pristine":
            info = await identity(client)
            if "pinned_by" in info["workers"][self.actor_worker]:
                raise CheckFailed("a pristine scheduler reports pinned_by?")
            return "actor works; the pristine scheduler has no pins (nothing to pin)"
        # The patched scheduler keeps the worker of an actor, which cannot move, out
        # of workers_to_close; the old client asks it over the RPC it always had
        n_workers = len((await identity(client))["workers"])
        to_close = await client.scheduler.workers_to_close(n=n_workers)
        if self.actor_worker in to_close:
            raise CheckFailed(
                f"workers_to_close(n={n_workers}) suggests the actor's worker: {to_close}"
            )
        return "actor works; workers_to_close keeps its worker (asked by the old client)"

    async def b3_actor_release(self) -> str:
        client = self.client
        assert client is not None
        if self.actor_future is None:
            raise CheckFailed("no actor (b1 failed)")
        key = self.actor_future.key
        self.actor_future.release()
        self.actor_future = None
        if self.server == "pristine":
            return "actor released"

        async def released() -> bool:
            n_workers = len((await identity(client))["workers"])
            to_close = await client.scheduler.workers_to_close(n=n_workers)
            return self.actor_worker in to_close

        if not await poll(released, 10):
            raise CheckFailed("workers_to_close still keeps the actor's worker after release")
        return f"actor {key} released; workers_to_close may suggest its worker again"

    # e ---------------------------------------------------------------------------------
    async def e_identity(self) -> str:
        client, cluster = self.client, self.cluster
        assert client is not None and cluster is not None
        info = await identity(client)
        expected = {"name", "nthreads", "memory_limit", "status", "host"}
        for address, w in info["workers"].items():
            if missing := expected - set(w):
                raise CheckFailed(f"worker {address} lacks {sorted(missing)} in identity")
        if info.get("n_workers") != len(info["workers"]):
            raise CheckFailed(f"n_workers {info.get('n_workers')} != {len(info['workers'])}")
        # What the sync Client.scheduler_info() does; the async one returns this cache
        await client._update_scheduler_info(n_workers=-1)
        cached = client.scheduler_info()
        if set(cached["workers"]) != set(info["workers"]):
            raise CheckFailed(f"client.scheduler_info() workers {sorted(cached['workers'])}")
        mirror = cluster.scheduler_info
        if names_of(mirror) != names_of(info):
            raise CheckFailed(
                f"cluster.scheduler_info has {sorted(names_of(mirror))}, the scheduler "
                f"{sorted(names_of(info))}"
            )
        for what, render in (
            ("repr(client)", lambda: repr(client)),
            ("client._repr_html_()", client._repr_html_),
            ("repr(cluster)", lambda: repr(cluster)),
            ("cluster._repr_html_()", cluster._repr_html_),
        ):
            try:
                render()
            except Exception as e:
                raise CheckFailed(f"{what}: {type(e).__name__}: {e}") from e
        versions = await asyncio.wait_for(client.get_versions(check=False), 10)
        sv = versions["scheduler"]["packages"]["distributed"]
        wv = {v["packages"]["distributed"] for v in versions["workers"].values()}
        if sv != self.server_version or wv != {self.server_version}:
            raise CheckFailed(f"get_versions: scheduler {sv}, workers {sorted(wv)}")
        pinned = sum(bool(w.get("pinned_by")) for w in info["workers"].values())
        return (
            f"scheduler {sv}, workers {sorted(wv)}, client {distributed.__version__}; "
            f"identity, scheduler_info(), the cluster's mirror, reprs read fine"
            + (f" ({pinned} worker(s) shown pinned)" if "pinned_by" in str(info) else "")
        )

    # c ---------------------------------------------------------------------------------
    async def c_mirror_join_leave(self) -> str:
        client, cluster = self.client, self.cluster
        assert client is not None and cluster is not None
        n = len(cluster.worker_spec)
        before = set(cluster.worker_spec)
        await cluster.scale(n + 1)
        (new,) = set(cluster.worker_spec) - before

        async def scheduler_has_it() -> bool:
            return new in names_of(await identity(client))

        if not await poll(scheduler_has_it, 20):
            raise CheckFailed(f"worker {new} did not join the scheduler within 20s (harness?)")

        async def mirror_has_it() -> bool:
            return new in names_of(cluster.scheduler_info)

        if not await poll(mirror_has_it, 10):
            why = watcher_state(cluster) or "its worker-status watcher task still runs"
            raise CheckFailed(
                f"worker {new} joined the scheduler, but cluster.scheduler_info never "
                f"showed it within 10s: {why}"
            )
        t_join = time.monotonic()
        await cluster.scale(n)

        async def mirror_in_sync() -> bool:
            info = await identity(client)
            return len(info["workers"]) == n and names_of(cluster.scheduler_info) == names_of(info)

        if not await poll(mirror_in_sync, 15):
            raise CheckFailed(
                f"after scale({n}), cluster.scheduler_info has "
                f"{sorted(names_of(cluster.scheduler_info))}, the scheduler "
                f"{sorted(names_of(await identity(client)))}"
            )
        return (
            f"{new} joined and the mirror showed it; after scale({n}) the mirror "
            f"followed the leave in {time.monotonic() - t_join:.1f}s"
        )

    # d ---------------------------------------------------------------------------------
    async def d_adaptive_shrink(self) -> str:
        client, cluster = self.client, self.cluster
        assert client is not None and cluster is not None
        # Three idle workers, no data: Adaptive must bring them down to one
        await cluster.scale(3)

        async def three() -> bool:
            return len((await identity(client))["workers"]) == 3

        if not await poll(three, 20):
            raise CheckFailed("could not get 3 workers to start with (harness?)")

        async def mirror_three() -> bool:
            return len(cluster.scheduler_info["workers"]) == 3

        # Let the mirror catch up too, as it would before a user turns adapt on; if it
        # never does (a dead watcher, see c), go on: what Adaptive does then is the point
        await poll(mirror_three, 5 if watcher_state(cluster) is None else 0)
        lowest = 3
        t0 = time.monotonic()
        adaptive = cluster.adapt(minimum=1, maximum=3, interval="200ms", wait_count=2)
        try:

            async def shrunk() -> bool:
                nonlocal lowest
                info = await identity(client)
                lowest = min(lowest, len(info["workers"]))
                return (
                    len(info["workers"]) == 1
                    and len(cluster.worker_spec) == 1
                    and len(cluster.workers) == 1
                )

            ok = await poll(shrunk, 15)
            info = await identity(client)
            if not ok:
                why = watcher_state(cluster)
                raise CheckFailed(
                    f"did not shrink to minimum=1 within 15s: scheduler has "
                    f"{len(info['workers'])} workers, cluster.worker_spec "
                    f"{sorted(cluster.worker_spec)}" + (f" ({why})" if why else "")
                )
            if lowest < 1:
                why = watcher_state(cluster)
                raise CheckFailed(
                    f"shrank to {lowest} workers, below minimum=1, on the way"
                    + (
                        f" ({why}, so cluster.scheduler_info is stale and Adaptive closes "
                        "the workers it does not see there as 'not yet arrived', on top "
                        "of those the scheduler proposed)"
                        if why
                        else ""
                    )
                )
            return (
                f"3 -> 1 worker in {time.monotonic() - t0:.1f}s "
                f"({sorted(names_of(info))} left, process(es) of the removed ones stopped)"
            )
        finally:
            adaptive.stop()

    # f ---------------------------------------------------------------------------------
    async def f_close(self) -> str:
        cluster = self.cluster
        assert cluster is not None and self.client is not None
        problems = []
        for what, aw in (("client.close()", self.client.close), ("cluster.close()", cluster.close)):
            try:
                await asyncio.wait_for(aw(), 20)
            except Exception as e:
                problems.append(f"{what} raised {type(e).__name__}: {e}")
        self.client = self.cluster = None
        # The cluster manager closed the scheduler and the workers: nothing is left
        alive = [f"{LABELS[p.pid]} (pid {p.pid})" for p in PROCS if p.poll() is None]
        if alive:
            problems.append(f"processes still running after cluster.close(): {alive}")
        if problems:
            raise CheckFailed("; ".join(problems))
        return "client and cluster closed; the scheduler and all workers exited"

    # d2 --------------------------------------------------------------------------------
    async def d2_adaptive_jobs(self) -> str:
        if self.client_build == "pristine":
            raise Skip(
                "the cluster manager is pristine 2026.8.0, whose Adaptive closes whole "
                "jobs for single workers it retired (the upstream bug that PR 5 fixes): "
                "no whole-job guarantee to check"
            )
        group = ["-0", "-1"]
        cluster = CompatCluster(self.args.server_python, self.run_dir, 2, group)
        try:
            await asyncio.wait_for(cluster, 30)
            client = await asyncio.wait_for(Client(cluster, asynchronous=True), 15)
            try:
                return await self._d2(cluster, client)
            finally:
                await asyncio.wait_for(client.close(), 10)
        finally:
            await asyncio.wait_for(cluster.close(), 20)

    async def _d2(self, cluster: CompatCluster, client: Client) -> str:
        import operator

        await client.wait_for_workers(4, timeout=20)
        addresses = {str(w["name"]): a for a, w in (await identity(client))["workers"].items()}
        # The two smallest results are on workers of different jobs: closing the two
        # workers with the fewest bytes would touch both jobs
        sizes = {"j0-0": 1, "j1-0": 2, "j0-1": 1000, "j1-1": 1001}
        futures = [
            client.submit(
                operator.mul, b"x", 1000 * size, key=f"data-{name}", workers=[addresses[name]]
            )
            for name, size in sizes.items()
        ]
        await wait(futures)
        t0 = time.monotonic()
        adaptive = cluster.adapt(minimum=2, maximum=2, interval="200ms", wait_count=2)
        try:

            async def one_job() -> bool:
                if len(cluster.workers) != 1 or len(cluster.worker_spec) != 1:
                    return False
                (job,) = cluster.worker_spec
                return names_of(await identity(client)) == {f"{job}-0", f"{job}-1"}

            if not await poll(one_job, 20):
                info = await identity(client)
                raise CheckFailed(
                    f"did not shrink to one whole job within 20s: jobs "
                    f"{sorted(cluster.worker_spec)}, scheduler has workers "
                    f"{sorted(names_of(info))}"
                )
        finally:
            adaptive.stop()
        results = await asyncio.wait_for(client.gather(futures), 15)
        if [len(r) for r in results] != [1000 * s for s in sizes.values()]:
            raise CheckFailed("results changed")
        lost = [
            k
            for _, e in await client.get_events("all")
            if isinstance(e, dict) and e.get("action") == "remove-worker"
            for k in e.get("lost-computed-tasks", ())
        ]
        if lost:
            raise CheckFailed(f"a job was closed with workers that were not retired: lost {lost}")
        return (
            f"2 jobs x 2 workers -> job {sorted(cluster.worker_spec)} in "
            f"{time.monotonic() - t0:.1f}s, no result lost"
        )

    # h (--worker-python: workers of another build than the scheduler) ---------------
    async def h_lifetime_drain(self) -> str:
        """A worker of the other build reaches its ``--lifetime`` while it holds the
        only copy of a result (and, if the scheduler has pins, while a client pins it):
        it must leave, and its result must move to the other worker first."""
        client, cluster = self.client, self.cluster
        assert client is not None and cluster is not None
        lifetime = LIFETIME
        addresses = {str(w["name"]): a for a, w in (await identity(client))["workers"].items()}
        x = client.submit(bytes, 1000, key="compat-x", workers=[addresses["w0"]])
        await asyncio.wait_for(wait(x), 10)
        pinned = ""
        if self.server == "patched":  # the client is patched too: it can pin
            self.pins = await asyncio.wait_for(client.pin_workers([addresses["w0"]]), 10)
            pinned = f", pinned by {self.pins.pinned_by}"

        async def left() -> bool:
            return "w0" not in names_of(await identity(client))

        if not await poll(left, lifetime + 15):
            errors = [
                line
                for line in (self.run_dir / "worker-w0.log").read_text().splitlines()
                if "Error" in line and not line.startswith(" ")
            ]
            raise CheckFailed(
                f"the {self.args.worker_version} worker w0 (--lifetime {lifetime}s{pinned}) "
                f"is still in the {self.server_version} scheduler 15s after its lifetime"
                + (f"; its log: {errors[-1][:500]}" if errors else "")
            )
        lost = [
            k
            for _, e in await client.get_events("all")
            if isinstance(e, dict) and e.get("action") == "remove-worker"
            for k in e.get("lost-computed-tasks", ())
        ]
        who_has = await client.scheduler.who_has(keys=[x.key])
        if lost:
            raise CheckFailed(
                f"the {self.args.worker_version} worker w0 (--lifetime {lifetime}s{pinned}) "
                f"left the {self.server_version} scheduler without handing over its "
                f"result: lost {lost} (recomputed)"
            )
        if self.pins is not None:
            await asyncio.wait_for(self.pins.release(), 10)
            self.pins = None
        return (
            f"w0 ({self.args.worker_version}{pinned}) left at its lifetime; its result "
            f"moved to {list(who_has[x.key])}"
        )

    # -----------------------------------------------------------------------------------
    async def run(self) -> None:
        emit(plan=self.plan())
        t0 = time.monotonic()
        if self.args.worker_python:
            await self.run_lifetime()
            return
        self.cluster = CompatCluster(self.args.server_python, self.run_dir, 2, None)
        await asyncio.wait_for(self.cluster, 30)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.client = await asyncio.wait_for(Client(self.cluster, asynchronous=True), 15)
        for w in caught:
            first = str(w.message).strip().splitlines()
            emit(info=f"client warned: {type(w.message).__name__}: {first[0] if first else ''}")
        await self.client.wait_for_workers(2, timeout=30)
        emit(info=f"cluster of 2 workers up in {time.monotonic() - t0:.1f}s")

        await self.check("a.p2p-shuffle", self.a_p2p_shuffle, 60)
        if self.client_build == "patched":
            await self.check("b1.pin_workers", self.b1_pin_workers, 20)
            await self.check("b2.downscaling_report", self.b2_downscaling_report, 15)
            await self.check("e.identity", self.e_identity, 20)
            await self.check("b3.unpin_workers", self.b3_unpin_workers, 20)
        else:
            await self.check("b1.actor-pin", self.b1_actor_pin, 30)
            await self.check("e.identity", self.e_identity, 20)
            await self.check("b3.actor-release", self.b3_actor_release, 15)
        await self.check("c.mirror-join-leave", self.c_mirror_join_leave, 50)
        await self.check("d.adaptive-shrink", self.d_adaptive_shrink, 40)
        await self.check("f.close", self.f_close, 35)
        await self.check("d2.adaptive-jobs", self.d2_adaptive_jobs, 90)

    async def run_lifetime(self) -> None:
        t0 = time.monotonic()
        run_dir = str(self.run_dir)
        other = {"python": self.args.worker_python, "run_dir": run_dir}
        same = {"python": self.args.server_python, "run_dir": run_dir}
        self.cluster = CompatCluster(
            self.args.server_python,
            self.run_dir,
            2,
            None,
            workers={
                "w0": {
                    "cls": WorkerProcess,
                    "options": {**other, "extra_args": ["--lifetime", f"{LIFETIME}s"]},
                },
                "w1": {"cls": WorkerProcess, "options": same},
            },
        )
        await asyncio.wait_for(self.cluster, 30)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.client = await asyncio.wait_for(Client(self.cluster, asynchronous=True), 15)
        await self.client.wait_for_workers(2, timeout=30)
        emit(
            info=f"w0 of {self.args.worker_version}, w1 and the scheduler of "
            f"{self.server_version}, up in {time.monotonic() - t0:.1f}s"
        )
        await self.check("h.lifetime-drain", self.h_lifetime_drain, LIFETIME + 30)

    async def cleanup(self) -> None:
        for close in (
            lambda: self.client.close() if self.client else None,
            lambda: self.cluster.close() if self.cluster else None,
        ):
            try:
                aw = close()
                if aw is not None:
                    await asyncio.wait_for(aw, 15)
            except Exception as e:
                print(f"cleanup: {type(e).__name__}: {e}", file=sys.stderr)
        await stop(PROCS, grace=3)


async def amain(args: argparse.Namespace) -> int:
    scenario = Scenario(args)
    try:
        await scenario.run()
    except Exception as e:
        traceback.print_exc()
        emit(error=f"{type(e).__name__}: {e}")
        return 2
    finally:
        await scenario.cleanup()
    return 1 if scenario.failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-python", required=True)
    parser.add_argument("--server-build", choices=("patched", "pristine"), required=True)
    parser.add_argument("--server-version", required=True)
    parser.add_argument("--client-build", choices=("patched", "pristine"), required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--worker-python", help="w0 of another build, with --lifetime")
    parser.add_argument("--worker-version")
    args = parser.parse_args()
    run_dir = Path(args.run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "scratch").mkdir(parents=True)
    logging.getLogger("distributed").addHandler(ERRORS)
    emit(info=f"client process: distributed {distributed.__version__}, dask {dask.__version__}")
    try:
        return asyncio.run(amain(args))
    finally:
        for p in PROCS:  # the loop is gone: whatever is left, by pid
            if p.poll() is None:
                p.kill()
                p.wait(5)


if __name__ == "__main__":
    sys.exit(main())
