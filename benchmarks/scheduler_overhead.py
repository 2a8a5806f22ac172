"""Scheduler overhead of worker pinning, patched build vs pristine 2026.8.0.

In-process, no network: a Scheduler that is constructed but not started, holding
synthetic WorkerState objects. Measures, per call:

- ``workers_to_close()`` (memory_ratio form, as ``Adaptive`` with no target) and
  ``workers_to_close(n=...)`` and ``workers_to_close(key=...)``: the retirement
  selection, with 1,000 and 5,000 workers and 0, 10 and 100 active shuffle runs of 16
  workers each;
- on the patched build, ``pin_workers`` + ``unpin_workers`` of a 1,000-worker run, and
  ``downscaling_report()``;
- the shuffle scheduler plugin's ``transition`` hook for a task that is not a shuffle's
  (the scheduler calls it on every transition of every task; the series makes it look
  at transitions to memory).

An active shuffle run is emulated the way each build sees it: on pristine, an entry in
``ShuffleSchedulerPlugin.active_shuffles`` whose participants upstream's
``valid_workers_downscaling`` hook unions on every call; on the patched build, the
run's pins. Each run involves 16 workers, the next run the next 16 (wrapping around).

Each round runs each cell once in each build, in a fresh process, alternating; the
ratio patched/pristine is the geometric mean of the rounds' ratios, with a 95%
bootstrap interval over rounds.

Usage: python3 benchmarks/scheduler_overhead.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

WORKER_COUNTS = (1_000, 5_000)
RUN_COUNTS = (0, 10, 100)
RUN_SIZE = 16


def measure(n_workers: int, n_runs: int, repeat: int) -> dict[str, Any]:
    """Runs inside the build under test."""
    import asyncio
    import timeit
    from types import SimpleNamespace

    async def main() -> dict[str, Any]:
        from distributed import Scheduler
        from distributed.core import Status
        from distributed.scheduler import WorkerState

        s = Scheduler(validate=False, dashboard=False, dashboard_address=":0")
        for i in range(n_workers):
            addr = f"tcp://10.{i // 65536}.{i // 256 % 256}.{i % 256}:4000"
            s.workers[addr] = WorkerState(
                address=addr,
                status=Status.running,
                pid=i,
                name=f"w{i}",
                nthreads=2,
                memory_limit=2**33,
                local_directory="/tmp",
                nanny=None,
                server_id=f"w{i}",
                scheduler=s,
            )
        addresses = list(s.workers)
        patched = hasattr(s, "pin_workers")
        size = RUN_SIZE
        for r in range(n_runs):
            run = [addresses[(r * size + j) % n_workers] for j in range(size)]
            if patched:
                s.pin_workers(f"shuffle-{r}", run)
            else:
                s.plugins["shuffle"].active_shuffles[f"s{r}"] = SimpleNamespace(
                    participating_workers=set(run)
                )

        def host(ws: Any) -> str:
            return ws.host

        calls = {
            "workers_to_close()": lambda: s.workers_to_close(),
            "workers_to_close(n=)": lambda: s.workers_to_close(n=n_workers // 2),
            "workers_to_close(key=)": lambda: s.workers_to_close(key=host),
        }
        if patched and n_workers >= 1000:
            run = addresses[:1000]
            calls["pin+unpin 1000 workers"] = lambda: (
                s.pin_workers("bench", run),
                s.unpin_workers("bench"),
            )
        if hasattr(s, "downscaling_report"):
            # Called by operators, not on any hot path: what one call costs
            calls["downscaling_report()"] = lambda: s.downscaling_report()
        numbers = dict.fromkeys(calls, max(1, 20_000 // n_workers))
        if n_workers == 1000 and n_runs == 0:
            # The only work the series adds per task: the hook runs on every
            # transition of every task, whether or not it belongs to a shuffle
            plugin = s.plugins["shuffle"]
            calls["shuffle plugin transition hook"] = lambda: plugin.transition(
                "x-1", "processing", "memory", stimulus_id="bench"
            )
            numbers["shuffle plugin transition hook"] = 100_000
        out: dict[str, Any] = {}
        for name, fn in calls.items():
            number = numbers[name]
            out[name] = min(timeit.repeat(fn, number=number, repeat=repeat)) / number
        s.plugins["shuffle"].active_shuffles.clear()
        return out

    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternations per cell")
    parser.add_argument("--repeat", type=int, default=5, help="timeit repeats per run")
    parser.add_argument("--measure", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        import json

        print(json.dumps(measure(*args.measure)))
        return 0

    import random

    import envs
    import paired

    rng = random.Random(42)
    pythons = envs.builds()
    script = Path(__file__).resolve()
    rows = []
    described = envs.describe(pythons, "benchmarks/scheduler_overhead.py")
    print(
        f"{'workers':>7} {'runs':>4}  {'call':<31} {'pristine':>11} {'patched':>11} "
        f"{'ratio':>6}  95% interval"
    )
    for n_workers in WORKER_COUNTS:
        for n_runs in RUN_COUNTS:
            samples: dict[str, dict[str, list[float]]] = {b: {} for b in envs.BUILDS}
            for _ in range(args.rounds):
                for build in envs.BUILDS:  # alternate, so drift hits both builds
                    out = envs.run_in(
                        pythons[build],
                        script,
                        str(n_workers),
                        str(n_runs),
                        str(args.repeat),
                    )
                    for call, seconds in out.items():
                        samples[build].setdefault(call, []).append(seconds)
            for call, patched in samples["patched"].items():
                p = statistics.median(patched)
                row: dict[str, Any] = {
                    "workers": n_workers,
                    "runs": n_runs,
                    "call": call,
                    "patched_s": p,
                }
                if call in samples["pristine"]:
                    u = statistics.median(samples["pristine"][call])
                    # One pair per round
                    cmp = paired.compare(
                        [[v] for v in samples["pristine"][call]],
                        [[v] for v in patched],
                        rng,
                    )
                    low, high = cmp["ratio_95ci"]
                    row.update(pristine_s=u, ratio=cmp["ratio"], ratio_95ci=[low, high])
                    print(
                        f"{n_workers:>7} {n_runs:>4}  {call:<31} {u * 1e6:>9.3f}us "
                        f"{p * 1e6:>9.3f}us {cmp['ratio']:>6.3f}  [{low:.3f}, {high:.3f}]"
                    )
                else:
                    print(
                        f"{n_workers:>7} {n_runs:>4}  {call:<31} {'-':>11} "
                        f"{p * 1e6:>9.3f}us {'-':>6}"
                    )
                rows.append(row)
    path = envs.save(
        "scheduler_overhead",
        {**described, "rounds": args.rounds, "run_size": RUN_SIZE, "rows": rows},
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
