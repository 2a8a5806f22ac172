"""P2P end to end, patched build vs pristine 2026.8.0: does pinning slow shuffles down?

On a 4-worker LocalCluster (worker processes, one thread each), times a P2P dataframe
shuffle and a P2P array rechunk. Each round starts one fresh cluster per build and
alternates the builds; within a cluster the first run of each workload is a warm-up and
is not counted. Prints the patched/pristine ratio of the median wall times.

Usage: python3 benchmarks/p2p_end_to_end.py [--rounds N] [--runs N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path
from typing import Any


def measure(runs: int) -> dict[str, list[float]]:
    """Runs inside the build under test."""
    import asyncio
    import time

    import dask.array as da
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster, wait

    async def main() -> dict[str, list[float]]:
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
            df = dd.from_pandas(pdf, npartitions=40)
            df = client.persist(df)
            await wait(df)
            x = da.random.default_rng(42).random((4000, 4000), chunks=(4000, 100))
            x = client.persist(x)
            await wait(x)

            # Each run adds its own number first, so that no run finds the keys of
            # another one still in memory
            workloads = {
                "dataframe shuffle": lambda i: df.assign(run=i).shuffle("k", shuffle_method="p2p"),
                "array rechunk": lambda i: (x + i).rechunk((100, 4000), method="p2p"),
            }
            out: dict[str, list[float]] = {}
            for name, make in workloads.items():
                times = []
                for i in range(runs + 1):
                    start = time.perf_counter()
                    result = client.persist(make(i))
                    await wait(result)
                    elapsed = time.perf_counter() - start
                    del result
                    if i:  # the first run warms up
                        times.append(elapsed)
                out[name] = times
            return out

    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="clusters per build")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per cluster")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        import json

        print(json.dumps(measure(args.measure)))
        return 0

    import envs

    pythons = envs.builds()
    script = Path(__file__).resolve()
    samples: dict[str, dict[str, list[float]]] = {b: {} for b in envs.BUILDS}
    for r in range(args.rounds):
        order = envs.BUILDS if r % 2 == 0 else envs.BUILDS[::-1]
        for build in order:
            for name, times in envs.run_in(pythons[build], script, str(args.runs)).items():
                samples[build].setdefault(name, []).extend(times)
    rows: list[dict[str, Any]] = []
    rng = random.Random(0)

    def ratio_ci(patched: list[float], pristine: list[float]) -> tuple[float, float]:
        """95% bootstrap interval of the ratio of medians"""
        ratios = sorted(
            statistics.median(rng.choices(patched, k=len(patched)))
            / statistics.median(rng.choices(pristine, k=len(pristine)))
            for _ in range(5000)
        )
        return ratios[125], ratios[4874]

    print(
        f"{'workload':<18} {'pristine':>9} {'patched':>9} {'ratio':>6}  (median of "
        f"{args.rounds * args.runs} runs each; 95% bootstrap interval of the ratio)"
    )
    for name in samples["patched"]:
        u = statistics.median(samples["pristine"][name])
        p = statistics.median(samples["patched"][name])
        low, high = ratio_ci(samples["patched"][name], samples["pristine"][name])
        print(f"{name:<18} {u:>8.2f}s {p:>8.2f}s {p / u:>6.3f}  [{low:.2f}, {high:.2f}]")
        rows.append(
            {
                "workload": name,
                "pristine_s": u,
                "patched_s": p,
                "ratio": p / u,
                "ratio_95ci": [low, high],
                "samples": {b: samples[b][name] for b in envs.BUILDS},
            }
        )
    path = envs.save(
        "p2p_end_to_end",
        {
            "machine": envs.machine(),
            "versions": {b: envs.version(p) for b, p in pythons.items()},
            "rows": rows,
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
