"""P2P end to end, patched build vs pristine 2026.8.0: does pinning slow shuffles down?

Times a P2P dataframe shuffle and a P2P array rechunk on a 4-worker LocalCluster (worker
processes, one thread each, no scaling), on both builds side by side.

Each round starts two clusters, one per build, each driven by its own process, and
keeps both warm: after one untimed warm-up run of each workload, the builds take turns
run by run (pristine first in one pair, patched first in the next), so that drift in
the machine's speed hits both builds alike. A run is timed from submission until its
output is in memory; the cluster then waits until the run's tasks are forgotten before
it answers.

Per pair of consecutive runs (one per build) the script takes the ratio
patched/pristine and reports their geometric mean, with a 95% bootstrap interval that
resamples rounds and then pairs within rounds (runs within one cluster pair are not
independent). Besides wall time it reports two CPU times per run, which are much less
noisy: the process that holds the scheduler, the client and the four nannies (the
series only changes the scheduler) and the sum over the four worker processes.

Usage: python3 benchmarks/p2p_end_to_end.py [--rounds N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

METRICS = ("wall", "scheduler_cpu", "workers_cpu")


def serve(stdin: IO[str], stdout: IO[str]) -> None:
    """Runs inside the build under test: one warm cluster, one run per request.

    Prints ``ready``, then answers each ``<workload> <i>`` line with a JSON line of
    METRICS in seconds; stops at end of input.
    """
    import asyncio
    import time

    import dask.array as da
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster, wait

    async def main() -> None:
        async with (
            LocalCluster(
                n_workers=4,
                threads_per_worker=1,
                processes=True,
                asynchronous=True,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster, asynchronous=True) as client,
        ):
            rng = np.random.default_rng(42)
            pdf = pd.DataFrame(
                {"k": rng.integers(0, 10_000, 2_000_000), "v": rng.random(2_000_000)}
            )
            df = client.persist(dd.from_pandas(pdf, npartitions=40))
            x = client.persist(da.random.default_rng(42).random((4000, 4000), chunks=(4000, 100)))
            await wait([df, x])
            persisted = len(cluster.scheduler.tasks)

            # Each run adds its own number first, so that no run finds the keys of
            # another one still in memory
            workloads = {
                "dataframe shuffle": lambda i: df.assign(run=i).shuffle("k", shuffle_method="p2p"),
                "array rechunk": lambda i: (x + i).rechunk((100, 4000), method="p2p"),
            }

            async def workers_cpu() -> float:
                return sum((await client.run(time.process_time)).values())

            async def run(name: str, i: int) -> dict[str, float]:
                workers_before = await workers_cpu()
                cpu_before = time.process_time()
                start = time.perf_counter()
                result = client.persist(workloads[name](i))
                await wait(result)
                wall = time.perf_counter() - start
                scheduler_cpu = time.process_time() - cpu_before
                workers = await workers_cpu() - workers_before
                del result
                deadline = time.monotonic() + 60
                while len(cluster.scheduler.tasks) > persisted:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{name} {i}: tasks not forgotten after 60 s")
                    await asyncio.sleep(0.01)
                return {"wall": wall, "scheduler_cpu": scheduler_cpu, "workers_cpu": workers}

            for name in workloads:  # warm up
                await run(name, -1)
            print("ready", file=stdout, flush=True)
            loop = asyncio.get_running_loop()
            while line := await loop.run_in_executor(None, stdin.readline):
                name, i = line.rsplit(maxsplit=1)
                print(json.dumps(await run(name, int(i))), file=stdout, flush=True)

    asyncio.run(main())


class Driver:
    """A ``--serve`` process of one build"""

    def __init__(self, python: Path, script: Path, log: Path):
        self.log = log.open("a")
        self.proc = subprocess.Popen(
            [str(python), str(script), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            bufsize=1,
        )

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise SystemExit(
                f"{self.proc.args} exited with {self.proc.returncode}; see {self.log.name}"
            )
        return line

    def wait_ready(self) -> None:
        while self._readline().strip() != "ready":
            pass

    def run(self, workload: str, i: int) -> dict[str, float]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{workload} {i}\n")
        return json.loads(self._readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=120)
        self.log.close()


def geomean(rounds: Sequence[Sequence[float]]) -> float:
    return math.exp(statistics.fmean(math.log(r) for pairs in rounds for r in pairs))


def bootstrap(rounds: Sequence[Sequence[float]], rng: random.Random) -> tuple[float, float]:
    """95% interval of the geometric mean ratio: resample rounds, then pairs in each"""
    means = sorted(
        geomean([rng.choices(pairs, k=len(pairs)) for pairs in rng.choices(rounds, k=len(rounds))])
        for _ in range(4000)
    )
    return means[100], means[3899]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="cluster pairs")
    parser.add_argument(
        "--runs", type=int, default=10, help="timed runs per build and workload in a round"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(sys.stdin, sys.stdout)
        return 0

    import envs

    pythons = envs.builds()
    script = Path(__file__).resolve()
    workloads = ("dataframe shuffle", "array rechunk")
    # samples[workload][build][metric] = one list per round
    samples: dict[str, dict[str, dict[str, list[list[float]]]]] = {
        w: {b: {m: [] for m in METRICS} for b in envs.BUILDS} for w in workloads
    }
    logs = {b: envs.RESULTS / f"p2p_end_to_end.{b}.log" for b in envs.BUILDS}
    for log in logs.values():
        log.unlink(missing_ok=True)
    for r in range(args.rounds):
        drivers = {b: Driver(pythons[b], script, logs[b]) for b in envs.BUILDS}
        for driver in drivers.values():
            driver.wait_ready()
        for w in workloads:
            for b in envs.BUILDS:
                for m in METRICS:
                    samples[w][b][m].append([])
        for i in range(args.runs):
            for w in workloads:
                order = envs.BUILDS if (r + i) % 2 == 0 else envs.BUILDS[::-1]
                for b in order:
                    for m, value in drivers[b].run(w, i).items():
                        samples[w][b][m][-1].append(value)
        for driver in drivers.values():
            driver.close()
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    rng = random.Random(0)
    rows: list[dict[str, Any]] = []
    print(
        f"{'workload':<18} {'metric':<14} {'pristine':>9} {'patched':>9} {'ratio':>6}  "
        f"95% interval   ({args.rounds} rounds x {args.runs} pairs)"
    )
    for w in workloads:
        for m in METRICS:
            u, p = samples[w]["pristine"][m], samples[w]["patched"][m]
            ratios = [
                [a / b for a, b in zip(pr, ur, strict=True)] for pr, ur in zip(p, u, strict=True)
            ]
            ratio = geomean(ratios)
            low, high = bootstrap(ratios, rng)
            u_med = statistics.median(v for rnd in u for v in rnd)
            p_med = statistics.median(v for rnd in p for v in rnd)
            print(
                f"{w:<18} {m:<14} {u_med:>8.3f}s {p_med:>8.3f}s {ratio:>6.3f}  "
                f"[{low:.3f}, {high:.3f}]"
            )
            rows.append(
                {
                    "workload": w,
                    "metric": m,
                    "pristine_median_s": u_med,
                    "patched_median_s": p_med,
                    "ratio": ratio,
                    "ratio_95ci": [low, high],
                    "samples": {"pristine": u, "patched": p},
                }
            )
    path = envs.save(
        "p2p_end_to_end",
        {
            "machine": envs.machine(),
            "versions": {b: envs.version(p) for b, p in pythons.items()},
            "rounds": args.rounds,
            "runs": args.runs,
            "rows": rows,
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
