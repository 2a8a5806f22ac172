"""Adaptive sessions, patched build vs pristine 2026.8.0: time to result and worker-seconds.

What an operator asks before installing the patched build: does an adaptive cluster that
runs P2P shuffles finish sooner, and does it cost more worker-hours?

A cluster of Nanny worker processes (one thread each), scaled by the default ``Adaptive``
policy, runs a session that looks like a person at a notebook. The first burst loads a
data set (1,000,000 rows in 20 partitions) and persists it; then bursts of work come one
after the other, each a fixed idle gap (default 0.8, 1.0, 1.2 s, cycled) after the
previous burst's results: long enough for ``Adaptive`` to decide to scale down and start
retiring workers, so each burst starts while the cluster is still shrinking. A burst
computes, all at once:

- a P2P dataframe shuffle (even bursts) or a P2P hash join with a 50,000-row table (odd
  bursts) of the data set, persisted and kept until the next burst's results are in (as
  a user keeps the last result in a variable), so that workers hold data in the gaps;
- a P2P array rechunk, 2000x2000 integers, (2000, 40) -> (40, 2000);
- ordinary map/reduce tasks: a CPU-bound function per partition, summed, and a groupby
  aggregation (a tree reduction).

Each burst's results are checked against a reference computed with pandas and numpy in
the process that drives the cluster. Two cluster managers:

- ``--cluster distributed`` (the default): ``distributed.LocalCluster`` with
  ``cluster.adapt(minimum=1, maximum=4, interval="200ms", target_duration="0.2s")``;
- ``--cluster jobqueue``: dask-jobqueue's ``dask_jobqueue.local.LocalCluster``, a
  ``JobQueueCluster`` whose jobs are local processes, two workers per job
  (``processes=2``), with ``cluster.adapt(minimum_jobs=1, maximum_jobs=2, ...)``: the
  workers of a job start and stop together.

The policy is upstream's default target (``Scheduler.adaptive_target``: the work in
flight divided by ``target_duration``) scaled to bursts of seconds rather than minutes:
with the default 5 s, bursts of a few seconds of work never ask for more than one or two
workers, and nothing would be scaled.

Per session and build: time to result of each burst (submitted to all results in the
client) and their sum; worker-seconds, the integral over the session of the number of
worker processes that the cluster manager has asked for or not yet closed, until the
cluster is back at its minimum after the last burst (what a cloud bill counts); peak
workers; P2P restarts (runs created minus shuffles, counted by wrapping the scheduler
plugin's ``_create``); results lost and recomputed (``lost-computed-tasks`` of the
scheduler's ``remove-worker`` events) and workers that left unexpectedly; bursts with
wrong results.

Each round keeps one warm cluster per build (the scheduler in the process that drives
it) and, after an untimed two-burst warm-up session on each, alternates the builds
session by session (pristine first in one pair, patched first in the next). Ratios
patched/pristine are geometric means of the per-pair ratios with a 95% bootstrap
interval over rounds, then pairs. Writes JSON and a PNG of workers and pinned workers
over time in one session of each build into build/bench/.

``--skew F`` gives a fraction F of the rows of the data set one key, so that one output
partition of each shuffle and join holds that fraction of the data and takes longest:
the other output workers finish early. ``--baseline prN`` compares with the series up
to pull request N instead of pristine 2026.8.0 (e.g. ``pr6``: without the release of
output workers once their outputs are computed, PR 7).

Usage: python3 benchmarks/adaptive_session.py [--cluster distributed|jobqueue]
       [--rounds N] [--sessions N] [--bursts N] [--gaps S,S,...] [--skew F]
       [--baseline pristine|prN]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path
from typing import Any

import paired

CLUSTERS = ("distributed", "jobqueue")
# What a session samples every 50 ms (a step function: a point when a count changes)
TIMELINE = ("seconds", "workers", "registered", "retiring", "pinned", "p2p_participants")
# Totals per session that get a ratio patched/pristine
METRICS = ("time_to_result_s", "worker_seconds")

ROWS_PER_PARTITION = 50_000
PARTITIONS = 20
KEYS = 100_000  # k in [0, KEYS); the right side of the join has the even ones
GROUPS = 100
SHAPE = (2000, 2000)
CHUNKS_IN, CHUNKS_OUT = (2000, 40), (40, 2000)
BURN_ROUNDS = 25  # CPU per partition of the map/reduce part: about 60 ms
SKEW = 0.0  # the fraction of rows with the key 0 (--skew); set before anything is pickled


# --- the workload: module-level functions, pickled by value to the workers -----------


def make_partition(seed: int, session: int = 0) -> Any:
    """One partition of the data set; ``session`` only makes the keys unique"""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = ROWS_PER_PARTITION
    k = rng.integers(0, KEYS, n)
    k[: int(n * SKEW)] = 0
    return pd.DataFrame(
        {
            "k": k,
            "v": rng.integers(0, 1000, n),
            "g": rng.integers(0, GROUPS, n),
        }
    )


def make_right(part: int, burst: int = 0) -> Any:
    """The right side of the join: every even key once, in 4 partitions; ``burst`` only
    makes the keys unique
    """
    import numpy as np
    import pandas as pd

    k = np.arange(part * 2, KEYS, 8)
    return pd.DataFrame({"k": k, "w": (k * 7 + 3) % 1000})


def burn(p: Any) -> Any:
    """Ordinary CPU-bound work on one partition (integer arithmetic, deterministic)"""
    import pandas as pd

    x = p["v"].to_numpy() * 31 + p["k"].to_numpy()
    for _ in range(BURN_ROUNDS):
        x = (x * 48271 + 11) % 2_147_483_647
        x.sort()
    return pd.Series([int(x[::97].sum())])


def fingerprint(p: Any) -> Any:
    """Per output partition of a shuffle or join: rows, sum of v (times w), distinct keys"""
    import pandas as pd

    vw = p["v"] * p["w"] if "w" in p else p["v"]
    return pd.DataFrame({"rows": [len(p)], "vw": [int(vw.sum())], "keys": [p["k"].nunique()]})


def cell(i: Any, j: Any) -> Any:
    return (i * 7 + j * 13) % 1000


def weights() -> tuple[Any, Any]:
    """Row and column weights: make the rechunk's check depend on where each value is"""
    import numpy as np

    return np.arange(SHAPE[0]) % 17 + 1, np.arange(SHAPE[1]) % 19 + 1


def reference() -> dict[str, Any]:
    """What every burst must compute, from pandas and numpy in this process"""
    import numpy as np
    import pandas as pd

    df = pd.concat([make_partition(seed) for seed in range(PARTITIONS)], ignore_index=True)
    right = pd.concat([make_right(part) for part in range(4)], ignore_index=True)
    joined = df.merge(right, on="k")
    rows, cols = weights()
    x = np.fromfunction(cell, SHAPE, dtype=np.int64)
    return {
        # Each key in one output partition only: distinct keys per partition add up
        "shuffle": [len(df), int(df["v"].sum()), int(df["k"].nunique())],
        "join": [len(joined), int((joined["v"] * joined["w"]).sum()), int(joined["k"].nunique())],
        "burn": sum(int(burn(make_partition(seed)).sum()) for seed in range(PARTITIONS)),
        "groupby": {int(g): int(v) for g, v in df.groupby("g")["v"].sum().items()},
        # sum(rows[i] * cols[j] * (x[i, j] + c)) = weighted + c * sum(rows) * sum(cols)
        "rechunk": [int((rows[:, None] * x * cols[None, :]).sum()), int(rows.sum() * cols.sum())],
    }


def burst_graph(data: Any, session: int, burst: int) -> tuple[Any, dict[str, Any]]:
    """What one burst computes: the P2P shuffle or join, which the session persists and
    keeps until the next burst's results are in (as a user keeps a variable), and the
    collections of the other results. Every key is unique to (session, burst).
    """
    import dask.array as da
    import dask.dataframe as dd

    df = data.assign(b=burst)
    if burst % 2 == 0:
        p2p = df.shuffle("k", shuffle_method="p2p")
    else:
        right = dd.from_map(
            make_right, range(4), burst=1000 * session + burst, meta=make_right(0)[:0]
        )
        p2p = df.merge(right, on="k", shuffle_method="p2p", broadcast=False)
    rows, cols = weights()
    x = da.fromfunction(cell, shape=SHAPE, chunks=CHUNKS_IN, dtype="int64")
    y = (x + 1000 * session + burst).rechunk(CHUNKS_OUT, method="p2p")
    return p2p, {
        "rechunk": ((y * cols[None, :]).sum(axis=1) * rows).sum(),
        "burn": df.map_partitions(burn, meta=(None, "int64")).sum(),
        "groupby": df.groupby("g")["v"].sum(split_out=1),  # a tree reduction
    }


def check(ref: dict[str, Any], session: int, burst: int, got: dict[str, Any]) -> list[str]:
    """The parts of a burst whose result differs from the reference"""
    wrong = []
    p2p = [int(got["p2p"][c]) for c in ("rows", "vw", "keys")]
    if p2p != ref["shuffle" if burst % 2 == 0 else "join"]:
        wrong.append("shuffle" if burst % 2 == 0 else "join")
    weighted, ones = ref["rechunk"]
    if int(got["rechunk"]) != weighted + (1000 * session + burst) * ones:
        wrong.append("rechunk")
    if int(got["burn"]) != ref["burn"]:
        wrong.append("burn")
    if {int(g): int(v) for g, v in got["groupby"].items()} != ref["groupby"]:
        wrong.append("groupby")
    return wrong


# --- the measurement, inside the build under test -------------------------------------


def serve(
    cluster_kind: str,
    maximum: int,
    interval: str,
    target_duration: str,
    bursts: int,
    gaps: list[float],
    burst_timeout: float,
) -> None:
    """One warm adaptive cluster; answers each ``session <i>`` line with a JSON line.

    Prints ``ready`` after an untimed warm-up session; stops at end of input.
    """
    import asyncio
    import logging
    import tempfile
    import time
    from collections import Counter
    from itertools import pairwise

    import dask.dataframe as dd
    import distributed
    from distributed import Client
    from distributed.core import Status
    from distributed.shuffle._scheduler_plugin import ShuffleSchedulerPlugin

    requests, replies = paired.protocol()
    logging.getLogger("distributed").setLevel(logging.WARNING)
    ref = reference()
    meta = make_partition(0)[:0]

    created: list[tuple[float, str]] = []
    original_create = ShuffleSchedulerPlugin._create

    def counting_create(self: Any, shuffle_id: Any, *args: Any, **kwargs: Any) -> Any:
        run_spec = original_create(self, shuffle_id, *args, **kwargs)
        created.append((time.monotonic(), str(shuffle_id)))
        return run_spec

    ShuffleSchedulerPlugin._create = counting_create  # type: ignore[method-assign]

    def make_cluster(local_directory: str) -> Any:
        if cluster_kind == "distributed":
            from distributed import LocalCluster

            cluster = LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                processes=True,
                memory_limit="4GiB",
                asynchronous=True,
                dashboard_address=":0",
                local_directory=local_directory,
            )
            adapt = {"minimum": 1, "maximum": maximum}
        else:
            cluster = jobqueue_cluster(local_directory)
            adapt = {"minimum_jobs": 1, "maximum_jobs": maximum // 2}
        return cluster, adapt

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="adaptive-session-") as local_directory:
            cluster, adapt = make_cluster(local_directory)
            async with cluster, Client(cluster, asynchronous=True) as client:
                cluster.adapt(interval=interval, target_duration=target_duration, **adapt)
                await run_sessions(cluster, client)

    async def run_sessions(cluster: Any, client: Any) -> None:
        s = cluster.scheduler
        plugin = s.plugins["shuffle"]
        per_spec = len(cluster.new_spec.get("group", [""]))
        minimum = cluster._adaptive.minimum

        def billed() -> int:
            """Worker processes asked for or not yet closed"""
            return per_spec * len(set(cluster.worker_spec) | set(cluster.workers))

        def pinned() -> int:
            pins = getattr(getattr(s, "worker_pins", None), "holders", None)
            return len(set().union(*pins.values())) if pins else 0

        def participants() -> int:
            runs = plugin.active_shuffles.values()
            return len(set().union(*(r.participating_workers for r in runs)) & set(s.workers))

        def state() -> str:
            tasks = Counter(ts.state for ts in s.tasks.values())
            workers = {
                w: (ws.status.name, sorted(getattr(ws, "pinned_by", ())))
                for w, ws in s.workers.items()
            }
            runs = {
                k: (r.run_id, sorted(r.participating_workers))
                for k, r in plugin.active_shuffles.items()
            }
            return (
                f"tasks {dict(tasks)}, workers {workers}, runs {runs}, "
                f"cluster {sorted(map(str, cluster.workers))}"
            )

        async def settled(timeout: float = 120) -> None:
            """Back at the minimum, nothing in flight: where every session starts"""
            deadline = time.monotonic() + timeout
            while not (billed() == minimum == len(s.workers) and not s.tasks):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"cluster not back at its minimum: {state()}")
                await asyncio.sleep(0.05)

        async def run_burst(data: Any, i: int, b: int) -> tuple[list[str], str | None, Any]:
            """Returns what was wrong, why it failed, and the persisted P2P output"""
            p2p, graphs = burst_graph(data, i, b)
            p2p = client.persist(p2p)
            graphs["p2p"] = p2p.map_partitions(fingerprint).sum()
            # One compute per collection: arrays and dataframes computed together would be
            # materialised to a low-level graph first
            futures = [client.compute(g) for g in graphs.values()]
            try:
                got = await asyncio.wait_for(client.gather(futures), burst_timeout)
                return check(ref, i, b, dict(zip(graphs, got, strict=True))), None, p2p
            except TimeoutError:
                failure = f"no result after {burst_timeout}s: {state()}"
            except Exception as e:
                failure = f"{type(e).__name__}: {e}"
            print(f"session {i} burst {b}: {failure}", file=sys.stderr, flush=True)
            await client.cancel([*futures, p2p])
            return ["failed"], failure, None

        async def session(i: int, n_bursts: int = bursts) -> dict[str, Any]:
            await settled()
            await asyncio.sleep(0.5)
            created.clear()
            t0 = time.monotonic()
            wall0 = time.time()
            timeline: list[tuple[float, ...]] = []

            def point() -> tuple[float, ...]:
                # TIMELINE's columns
                return (
                    round(time.monotonic() - t0, 3),
                    billed(),
                    len(s.workers),
                    sum(ws.status == Status.closing_gracefully for ws in s.workers.values()),
                    pinned(),
                    participants(),
                )

            async def sample() -> None:
                """Every 50 ms; kept only when something but the time changed"""
                while True:
                    p = point()
                    if not timeline or p[1:] != timeline[-1][1:]:
                        timeline.append(p)
                    await asyncio.sleep(0.05)

            sampler = asyncio.create_task(sample())
            results: list[dict[str, Any]] = []
            data = dd.from_map(make_partition, range(PARTITIONS), session=i, meta=meta)
            kept = None  # the last burst's P2P output
            for b in range(n_bursts):
                if b:
                    await asyncio.sleep(gaps[(b - 1) % len(gaps)])
                start = time.monotonic()
                if b == 0:  # load the data set: part of the first burst's time
                    data = client.persist(data)
                wrong, failure, kept = await run_burst(data, i, b)
                end = time.monotonic()
                results.append(
                    {
                        "start_s": start - t0,
                        "time_s": end - start,
                        "p2p": "shuffle" if b % 2 == 0 else "join",
                        "wrong": wrong,
                        "failure": failure,
                    }
                )
            del data, kept
            last = time.monotonic() - t0
            try:
                await settled(timeout=60)
                shrunk = True
            except TimeoutError as e:
                print(f"session {i}: {e}", file=sys.stderr, flush=True)
                shrunk = False
            end = time.monotonic() - t0
            sampler.cancel()
            timeline.append(point())
            worker_seconds = sum((b[0] - a[0]) * a[1] for a, b in pairwise(timeline))
            pinned_seconds = sum((b[0] - a[0]) * a[4] for a, b in pairwise(timeline))
            removals = [
                msg
                for t, msg in s.get_events("all")
                if t >= wall0 and isinstance(msg, dict) and msg.get("action") == "remove-worker"
            ]
            ids = [sid for _, sid in created]
            first: set[str] = set()
            restart_times = []
            for t, sid in created:
                if sid in first:
                    restart_times.append(t - t0)
                first.add(sid)
            return {
                "session": i,
                "time_to_result_s": sum(r["time_s"] for r in results),
                "worker_seconds": worker_seconds,
                "pinned_worker_seconds": pinned_seconds,
                "session_s": end,
                "last_result_s": last,
                "shrunk": shrunk,
                "peak_workers": max(p[1] for p in timeline),
                "p2p_runs": len(ids),
                "restarts": len(ids) - len(set(ids)),
                "restart_times_s": restart_times,
                "workers_removed": len(removals),
                "unexpected_removals": sum(not m.get("expected", True) for m in removals),
                "lost_computed_tasks": sum(len(m["lost-computed-tasks"]) for m in removals),
                "wrong": sum(bool(r["wrong"]) for r in results),
                "failed": sum(r["failure"] is not None for r in results),
                "bursts": results,
                "timeline": timeline,
            }

        # Warm up: a shuffle burst and a join burst, so that the scheduler knows how long
        # each kind of task takes, as it would an hour into a real session
        await session(-1, min(bursts, 2))
        # The workers run this interpreter's distributed (jobqueue: through ``python=``)
        versions = set((await client.run(lambda: distributed.__version__)).values())
        if versions != {distributed.__version__}:
            raise RuntimeError(f"workers run distributed {versions}, not {distributed.__version__}")
        print("ready", file=replies, flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, requests.readline):
            _, i = line.split()
            print(json.dumps(await session(int(i))), file=replies, flush=True)

    asyncio.run(main())


def jobqueue_cluster(local_directory: str) -> Any:
    """dask-jobqueue's local cluster: each job runs ``dask worker --nworkers 2`` here"""
    import asyncio
    import sys

    from dask_jobqueue.local import LocalCluster, LocalJob
    from tornado.iostream import StreamClosedError

    class LoggedLocalJob(LocalJob):
        """``LocalJob`` reads its worker's output only until the worker has registered.

        Keep reading both streams into this process's stderr, as a batch system writes a
        job's output to a file: otherwise a worker that logs more than a pipe holds
        blocks. Nothing else changes.
        """

        async def _submit_job(self, script_filename: str) -> str:
            job_id = await super()._submit_job(script_filename)

            async def drain(stream: Any) -> None:
                try:
                    while True:
                        data = await stream.read_bytes(65536, partial=True)
                        sys.stderr.buffer.write(data)
                        sys.stderr.flush()
                except StreamClosedError:
                    pass

            self._drains = [
                asyncio.ensure_future(drain(self.process.stderr)),
                asyncio.ensure_future(drain(self.process.stdout)),
            ]
            return job_id

    return LocalCluster(
        job_cls=LoggedLocalJob,
        cores=2,
        processes=2,
        memory="8GiB",
        python=sys.executable,
        interface="lo",
        local_directory=local_directory,
        scheduler_options={"dashboard_address": ":0", "port": 0},
        asynchronous=True,
    )


# --- the driver: both builds, alternating, and the report ----------------------------


def plot(sessions: dict[str, dict[str, Any]], title: str, png: Path) -> None:
    """Workers and pinned workers over one session of each build, bursts shaded"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    top = max(p[1] for r in sessions.values() for p in r["timeline"])
    for ax, (build, r) in zip(axes, sessions.items(), strict=True):
        t = [p[0] for p in r["timeline"]]
        for k, b in enumerate(r["bursts"]):
            ax.axvspan(
                b["start_s"],
                b["start_s"] + b["time_s"],
                color="0.9",
                label="burst: submitted to result" if k == 0 else None,
            )
        ax.step(
            t,
            [p[1] for p in r["timeline"]],
            where="post",
            color="tab:blue",
            label="workers (asked for or not yet closed)",
        )
        ax.step(
            t,
            [p[2] for p in r["timeline"]],
            where="post",
            color="tab:blue",
            linewidth=0.8,
            linestyle=":",
            label="workers registered with the scheduler",
        )
        ax.step(
            t,
            [p[4] for p in r["timeline"]],
            where="post",
            color="tab:orange",
            linestyle="--",
            label="pinned workers",
        )
        for k, x in enumerate(r["restart_times_s"]):
            ax.axvline(
                x, color="tab:red", linewidth=1, label="P2P run restarted" if k == 0 else None
            )
        ax.set_title(
            f"{build}: {r['time_to_result_s']:.1f} s to results, "
            f"{r['worker_seconds']:.0f} worker-s, {r['restarts']} restarts, "
            f"{r['lost_computed_tasks']} results lost"
        )
        ax.set_ylabel("workers")
        ax.set_ylim(0, top + 0.5)
    axes[-1].set_xlabel("seconds since the session started")
    # One legend for both panels, below them: the lines are where a legend would go
    labels: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            labels.setdefault(label, handle)
    fig.legend(labels.values(), labels.keys(), loc="lower center", ncol=3, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(png, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", choices=CLUSTERS, default="distributed")
    parser.add_argument("--rounds", type=int, default=4, help="cluster pairs")
    parser.add_argument("--sessions", type=int, default=8, help="paired sessions per round")
    parser.add_argument("--bursts", type=int, default=4, help="bursts per session")
    parser.add_argument("--maximum", type=int, default=4, help="adapt(maximum=) in workers")
    parser.add_argument("--interval", default="200ms", help="adapt(interval=)")
    parser.add_argument("--target-duration", default="0.2s", help="adapt(target_duration=)")
    parser.add_argument(
        "--gaps", default="0.8,1.0,1.2", help="idle seconds before each next burst (cycled)"
    )
    parser.add_argument("--burst-timeout", type=float, default=180)
    parser.add_argument("--skew", type=float, default=0.0, help="fraction of rows with one key")
    parser.add_argument(
        "--baseline", default="pristine", help="what to compare with: pristine or prN"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plot", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    gaps = [float(g) for g in args.gaps.split(",")]
    global SKEW
    SKEW = args.skew
    serve_args = [
        "--cluster",
        args.cluster,
        "--maximum",
        str(args.maximum),
        "--interval",
        args.interval,
        "--target-duration",
        args.target_duration,
        "--bursts",
        str(args.bursts),
        "--gaps",
        args.gaps,
        "--burst-timeout",
        str(args.burst_timeout),
        "--skew",
        str(args.skew),
    ]
    if args.serve:
        serve(
            args.cluster,
            args.maximum,
            args.interval,
            args.target_duration,
            args.bursts,
            gaps,
            args.burst_timeout,
        )
        return 0
    if args.plot:
        data = json.loads(Path(args.plot[0]).read_text())
        plot(data["sessions"], data["title"], Path(args.plot[1]))
        return 0

    import subprocess

    import envs

    name = "adaptive_session" if args.cluster == "distributed" else "adaptive_session_jobqueue"
    if args.skew:
        name += f".skew{args.skew:g}"
    if args.baseline != "pristine":
        name += f".vs-{args.baseline}"
    pythons = envs.builds(args.baseline)
    described = envs.describe(pythons, "benchmarks/adaptive_session.py")
    script = Path(__file__).resolve()
    runs: dict[str, list[list[dict[str, Any]]]] = {b: [] for b in envs.BUILDS}
    logs = {b: envs.RESULTS / f"{name}.{b}.log" for b in envs.BUILDS}
    for log in logs.values():
        log.unlink(missing_ok=True)
    i = 0
    for r in range(args.rounds):
        drivers = {b: paired.Driver(pythons[b], script, logs[b], *serve_args) for b in envs.BUILDS}
        for driver in drivers.values():
            driver.wait_ready()
        for b in envs.BUILDS:
            runs[b].append([])
        for k in range(args.sessions):
            order = envs.BUILDS if (r + k) % 2 == 0 else envs.BUILDS[::-1]
            for b in order:
                result = drivers[b].request("session", i)
                runs[b][-1].append(result)
                print(
                    f"round {r + 1} session {k + 1} {envs.LABELS[b]:>11}: "
                    f"{result['time_to_result_s']:6.1f} s to results, "
                    f"{result['worker_seconds']:6.1f} worker-s, peak {result['peak_workers']}, "
                    f"{result['restarts']} restarts, {result['lost_computed_tasks']} lost, "
                    f"{result['wrong']} wrong, {result['failed']} failed",
                    file=sys.stderr,
                    flush=True,
                )
            i += 1
        for driver in drivers.values():
            driver.close()

    # Sessions where a burst failed on either build have no meaningful time: left out
    # of the ratios, counted below
    good = [
        [
            (u, p)
            for u, p in zip(runs["pristine"][r], runs["patched"][r], strict=True)
            if not u["failed"] and not p["failed"]
        ]
        for r in range(args.rounds)
    ]
    good = [pairs for pairs in good if pairs]
    rng = random.Random(0)
    rows = []
    print()
    print(
        f"{args.cluster} cluster, {args.rounds} rounds x {args.sessions} paired sessions "
        f"of {args.bursts} bursts"
    )
    labels = envs.LABELS
    print(
        f"{'measure':<26} {labels['pristine']:>11} {labels['patched']:>11} {'ratio':>6}  "
        "95% interval"
    )
    measures = [(m, lambda x, m=m: x[m]) for m in METRICS] + [
        (f"burst {b + 1} time_s", lambda x, b=b: x["bursts"][b]["time_s"])
        for b in range(args.bursts)
    ]
    for measure, get in measures:
        if not good:
            break
        row = paired.compare(
            [[get(u) for u, _ in pairs] for pairs in good],
            [[get(p) for _, p in pairs] for pairs in good],
            rng,
        )
        low, high = row["ratio_95ci"]
        print(
            f"{measure:<26} {row['pristine_median']:>11.2f} {row['patched_median']:>11.2f} "
            f"{row['ratio']:>6.3f}  [{low:.3f}, {high:.3f}]"
        )
        rows.append({"measure": measure, **row})

    totals: dict[str, dict[str, Any]] = {}
    for b in envs.BUILDS:
        all_runs = [x for rnd in runs[b] for x in rnd]
        totals[b] = {
            "sessions": len(all_runs),
            "bursts": sum(len(x["bursts"]) for x in all_runs),
            "restarts": sum(x["restarts"] for x in all_runs),
            "p2p_runs": sum(x["p2p_runs"] for x in all_runs),
            "lost_computed_tasks": sum(x["lost_computed_tasks"] for x in all_runs),
            "unexpected_removals": sum(x["unexpected_removals"] for x in all_runs),
            "wrong_bursts": sum(x["wrong"] for x in all_runs),
            "failed_bursts": sum(x["failed"] for x in all_runs),
            "not_shrunk": sum(not x["shrunk"] for x in all_runs),
            "median_pinned_worker_seconds": statistics.median(
                x["pinned_worker_seconds"] for x in all_runs
            ),
            "median_shrink_s": statistics.median(
                x["session_s"] - x["last_result_s"] for x in all_runs
            ),
            "peak_workers": max(x["peak_workers"] for x in all_runs),
            "median_peak_workers": statistics.median(x["peak_workers"] for x in all_runs),
        }
    print()
    print(
        f"{'build':<11} {'sessions':>8} {'P2P runs':>8} {'restarts':>8} {'lost':>6} "
        f"{'killed':>6} {'wrong':>5} {'failed':>6} {'peak':>4} {'shrink':>6} {'pinned':>8}"
    )
    for b, t in totals.items():
        print(
            f"{labels[b]:<11} {t['sessions']:>8} {t['p2p_runs']:>8} {t['restarts']:>8} "
            f"{t['lost_computed_tasks']:>6} {t['unexpected_removals']:>6} "
            f"{t['wrong_bursts']:>5} {t['failed_bursts']:>6} {t['peak_workers']:>4} "
            f"{t['median_shrink_s']:>5.1f}s {t['median_pinned_worker_seconds']:>7.1f}s"
        )
    print(
        "(totals over all sessions: P2P runs created, restarts, results lost with a worker,"
        " workers that left unexpectedly, bursts with a wrong result, bursts that failed;"
        " peak workers; medians per session: time from the last result until back at the"
        " minimum, worker-seconds while pinned)"
    )
    left_out = args.rounds * args.sessions - sum(len(p) for p in good)
    if left_out:
        print(f"{left_out} session pairs left out of the ratios: a burst failed")

    path = envs.save(
        name,
        {
            **described,
            "labels": labels,
            "args": vars(args),
            "timeline_columns": TIMELINE,
            "rows": rows,
            "totals": totals,
            "runs": runs,
        },
    )
    # The picture: a typical session pair, the one with the median pristine time
    pairs = [pair for rnd in good for pair in rnd] or [
        (u, p)
        for ur, pr in zip(runs["pristine"], runs["patched"], strict=True)
        for u, p in zip(ur, pr, strict=True)
    ]
    pairs.sort(key=lambda pair: pair[0]["time_to_result_s"])
    typical = dict(zip(envs.BUILDS, pairs[len(pairs) // 2], strict=True))
    minimum = "1 job of 2 workers" if args.cluster == "jobqueue" else "1"
    title = (
        f"{args.cluster} cluster, adapt(minimum={minimum}, maximum={args.maximum} workers), "
        f"session {typical['patched']['session']} (the median pristine time to results)\n"
        f"{args.bursts} bursts, each a P2P shuffle or join, a P2P rechunk and map/reduce tasks"
    )
    shown = envs.save(f"{name}.plotted", {"title": title, "sessions": typical})
    png = envs.RESULTS / f"{name}.png"
    subprocess.run(
        [str(pythons["patched"]), str(script), "--plot", str(shown), str(png)], check=True
    )
    print(f"wrote {path} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
