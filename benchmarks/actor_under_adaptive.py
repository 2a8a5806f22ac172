"""An actor on an adaptive cluster, patched build vs pristine 2026.8.0: does it survive?

A LocalCluster of three worker processes scaled by the default ``Adaptive`` policy
(``cluster.adapt(minimum=1, maximum=3)``) hosts one actor. The cluster is idle, so
adaptive scaling shrinks it. An actor cannot move to another worker: retiring its worker
fails (its data has "no recipients"), and pristine's ``Adaptive`` then removes the worker
anyway, with the actor. The patched build pins the actor's worker, so the cluster shrinks
around it. Reports, per build and run: whether the actor still answers after the cluster
has shrunk, the workers left, and the attempts to retire the actor's worker.

Usage: python3 benchmarks/actor_under_adaptive.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def measure() -> dict[str, Any]:
    """Runs inside the build under test."""
    import asyncio
    import operator

    from distributed import Client, LocalCluster, wait

    class Counter:
        n = 0

        def increment(self) -> int:
            self.n += 1
            return self.n

    async def main() -> dict[str, Any]:
        async with (
            LocalCluster(
                n_workers=3,
                threads_per_worker=1,
                processes=True,
                asynchronous=True,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster, asynchronous=True) as client,
        ):
            s = cluster.scheduler
            host, *others = s.workers
            actor = await client.submit(Counter, actor=True, workers=[host])
            # The others hold more data, so workers_to_close suggests the host first
            data = [
                client.submit(operator.mul, b"x", 1_000_000, workers=[w], pure=False)
                for w in others
            ]
            await wait(data)
            cluster.adapt(minimum=1, maximum=3, interval="100ms", wait_count=1)
            for _ in range(200):  # until the cluster has shrunk, at most 20 s
                await asyncio.sleep(0.1)
                if len(s.workers) == 1 and len(cluster.workers) == 1:
                    break
            try:
                alive = await asyncio.wait_for(actor.increment(), 5) == 1
            except Exception:
                alive = False
            attempts = [m for _, m in s.get_events(host) if m["action"] == "could-not-retire"]
            return {
                "actor_alive": alive,
                "workers_left": len(s.workers),
                "host_kept": host in s.workers,
                "retire_attempts_on_host": len(attempts),
            }

    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per build")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
        return 0

    import envs

    pythons = envs.builds()
    described = envs.describe(pythons, "benchmarks/actor_under_adaptive.py")
    script = Path(__file__).resolve()
    results: dict[str, list[dict[str, Any]]] = {b: [] for b in envs.BUILDS}
    for _ in range(args.runs):
        for build in envs.BUILDS:
            results[build].append(envs.run_in(pythons[build], script))
    for build, runs in results.items():
        alive = sum(r["actor_alive"] for r in runs)
        left = sorted({r["workers_left"] for r in runs})
        attempts = sum(r["retire_attempts_on_host"] for r in runs)
        print(
            f"{build:>8}: actor alive after shrinking in {alive} of {len(runs)} runs; "
            f"workers left {left}; attempts to retire the actor's worker: {attempts}"
        )
    path = envs.save("actor_under_adaptive", {**described, "results": results})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
