"""P2P end to end, patched build vs pristine 2026.8.0: does pinning slow shuffles down?

Times, on a 4-worker LocalCluster (worker processes, one thread each, no scaling), on both
builds side by side:

- ``dataframe shuffle``: one P2P shuffle of 2,000,000 rows in 40 partitions;
- ``array rechunk``: one P2P rechunk, 4000x4000, (4000, 100) -> (100, 4000);
- ``partial rechunks``: one P2P rechunk made of 200 independent partial rechunks (a
  1000x500 array, (50, 25) -> (25, 50): every 50x50 tile is its own P2P run, from 2
  input chunks to 2 output chunks), so 200 runs, each pinned and released, with the
  events that go with that, to the cluster manager too (a ``LocalCluster`` subscribes
  to the scheduler's worker status, as for users). This is where per-run bookkeeping
  shows.

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
noisy: the process that holds the scheduler, the client, the cluster manager and the
four nannies (the series changes the scheduler and the cluster manager) and the sum over
the four worker processes.

Writes build/bench/p2p_end_to_end.json, or, for some of the workloads only,
build/bench/p2p_end_to_end.<workloads>.json (e.g. ``p2p_end_to_end.partial_rechunks``).

Usage: python3 benchmarks/p2p_end_to_end.py [--rounds N] [--runs N] [--workloads W,W,...]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import IO, Any

import paired

METRICS = ("wall", "scheduler_cpu", "workers_cpu")
WORKLOADS = ("dataframe shuffle", "array rechunk", "partial rechunks")


def serve(stdin: IO[str], stdout: IO[str], names: list[str]) -> None:
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
            tiles = da.random.default_rng(42).random((1000, 500), chunks=(50, 25))
            if "partial rechunks" in names:  # otherwise the cluster holds what it did before
                tiles = client.persist(tiles)
            await wait([df, x, tiles])
            persisted = len(cluster.scheduler.tasks)

            # Each run adds its own number first, so that no run finds the keys of
            # another one still in memory
            workloads = {
                "dataframe shuffle": lambda i: df.assign(run=i).shuffle("k", shuffle_method="p2p"),
                "array rechunk": lambda i: (x + i).rechunk((100, 4000), method="p2p"),
                "partial rechunks": lambda i: (tiles + i).rechunk((25, 50), method="p2p"),
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

            for name in names:  # warm up
                await run(name, -1)
            print("ready", file=stdout, flush=True)
            loop = asyncio.get_running_loop()
            while line := await loop.run_in_executor(None, stdin.readline):
                name, i = line.rsplit(maxsplit=1)
                print(json.dumps(await run(name, int(i))), file=stdout, flush=True)

    asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="cluster pairs")
    parser.add_argument(
        "--runs", type=int, default=10, help="timed runs per build and workload in a round"
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated, from: {', '.join(WORKLOADS)} (default: all)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workloads = [w.strip() for w in args.workloads.split(",")]
    if unknown := set(workloads) - set(WORKLOADS):
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    if args.serve:
        serve(*paired.protocol(), workloads)
        return 0

    import envs

    # The JSON of a run of some of the workloads does not replace that of all of them
    name = "p2p_end_to_end"
    if workloads != list(WORKLOADS):
        name += "." + "+".join(w.replace(" ", "_") for w in workloads)
    pythons = envs.builds()
    described = envs.describe(pythons, "benchmarks/p2p_end_to_end.py")
    script = Path(__file__).resolve()
    # samples[workload][build][metric] = one list per round
    samples: dict[str, dict[str, dict[str, list[list[float]]]]] = {
        w: {b: {m: [] for m in METRICS} for b in envs.BUILDS} for w in workloads
    }
    logs = {b: envs.RESULTS / f"{name}.{b}.log" for b in envs.BUILDS}
    for log in logs.values():
        log.unlink(missing_ok=True)
    for r in range(args.rounds):
        drivers = {
            b: paired.Driver(pythons[b], script, logs[b], "--workloads", ",".join(workloads))
            for b in envs.BUILDS
        }
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
                    for m, value in drivers[b].request(w, i).items():
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
            c = paired.compare(u, p, rng)
            low, high = c["ratio_95ci"]
            print(
                f"{w:<18} {m:<14} {c['pristine_median']:>8.3f}s {c['patched_median']:>8.3f}s "
                f"{c['ratio']:>6.3f}  [{low:.3f}, {high:.3f}]"
            )
            rows.append(
                {
                    "workload": w,
                    "metric": m,
                    "pristine_median_s": c["pristine_median"],
                    "patched_median_s": c["patched_median"],
                    "ratio": c["ratio"],
                    "ratio_95ci": [low, high],
                    "samples": {"pristine": u, "patched": p},
                }
            )
    path = envs.save(name, {**described, "rounds": args.rounds, "runs": args.runs, "rows": rows})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
