"""Adaptive under churn, patched build vs pristine 2026.8.0: do shuffles survive scale-down?

Several P2P dataframe shuffles run one after the other on a LocalCluster (in-process
workers, one thread each) while something keeps trying to shrink the cluster. Before each
shuffle the cluster grows back to 4 workers, as it would when new work arrives.

- ``adaptive``: the real ``Adaptive``, with a policy that always wants the minimum
  (1 worker) and acts every 100 ms;
- ``external``: an external autoscaler (like the Kubernetes operator) that every 300 ms
  picks a worker and calls ``retire_workers(workers=[it])``, then removes from the
  cluster what the scheduler says it retired.

Reports, per build: shuffle restarts (runs created minus shuffles; counted by wrapping
the scheduler plugin's run creation, not from logs), wall time, worker-seconds, and
the worker count before and after; writes a PNG of worker and pinned-worker counts
over time.

By default only the ``external`` variant is compared. The ``adaptive`` variant stays for
the demo (``python -m demo``), which shows its restarts; its wall time is set by how long
the driver waits for the cluster to grow back before each shuffle, not by the build, so
a comparison of it says nothing (``--variants adaptive,external`` still runs it).
``benchmarks/adaptive_session.py`` measures the default ``Adaptive`` policy instead.

Usage: python3 benchmarks/adaptive_churn.py [--rounds N] [--shuffles N] [--variants V,V]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

VARIANTS = ("adaptive", "external")
COMPARED = ("external",)


def run_scenario(
    variant: str, shuffles: int = 3, seed: int = 0, shuffle_timeout: float = 120
) -> dict[str, Any]:
    """Run one scenario in this interpreter, with whatever distributed it has."""
    import asyncio
    import random
    import time
    from collections import Counter
    from itertools import pairwise

    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster, wait
    from distributed.deploy.adaptive import Adaptive
    from distributed.shuffle._scheduler_plugin import ShuffleSchedulerPlugin

    created: list[str] = []
    original_create = ShuffleSchedulerPlugin._create

    def counting_create(self: Any, shuffle_id: Any, *args: Any, **kwargs: Any) -> Any:
        run_spec = original_create(self, shuffle_id, *args, **kwargs)
        created.append(shuffle_id)
        return run_spec

    def make_partition(partition_seed: int) -> pd.DataFrame:
        """50,000 rows; 40 partitions make the 2,000,000 rows of one shuffle"""
        prng = np.random.default_rng(partition_seed)
        return pd.DataFrame({"k": prng.integers(0, 10_000, 50_000), "v": prng.random(50_000)})

    class AlwaysShrink(Adaptive):
        """A policy that wants the minimum on every cycle"""

        async def target(self) -> int:
            return self.minimum

    async def main() -> dict[str, Any]:
        async with (
            LocalCluster(
                n_workers=4,
                threads_per_worker=1,
                processes=False,
                asynchronous=True,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster, asynchronous=True) as client,
        ):
            s = cluster.scheduler
            plugin = s.plugins["shuffle"]
            timeline: list[tuple[float, int, int, int]] = []
            t0 = time.perf_counter()

            async def sample() -> None:
                while True:
                    pinned = getattr(getattr(s, "worker_pins", None), "holders", {})
                    participants = set().union(
                        *(r.participating_workers for r in plugin.active_shuffles.values())
                    )
                    timeline.append(
                        (
                            time.perf_counter() - t0,
                            len(s.workers),
                            len(set().union(*pinned.values())),
                            len(participants & set(s.workers)),
                        )
                    )
                    await asyncio.sleep(0.05)

            stop = asyncio.Event()

            async def external_autoscaler() -> None:
                # Stopped through ``stop``, never cancelled: cancelling it while it
                # awaits cluster.scale_down() would cancel Worker.close() half-way and
                # leave a worker that never finishes closing (cluster close then hangs)
                rng = random.Random(seed)
                while True:
                    try:
                        await asyncio.wait_for(stop.wait(), 0.3)
                        break
                    except TimeoutError:
                        pass
                    if len(s.workers) <= 1:
                        continue
                    address = rng.choice(sorted(s.workers))
                    name = s.workers[address].name
                    retired = await s.retire_workers(
                        workers=[address],
                        close_workers=True,
                        stimulus_id=f"external-autoscaler-{time.time()}",
                    )
                    if retired:
                        await cluster.scale_down([name])

            def state() -> str:
                tasks = Counter(ts.state for ts in s.tasks.values())
                workers = {w: (ws.status.name, sorted(ws.pinned_by)) for w, ws in s.workers.items()}
                runs = {
                    k: (r.run_id, sorted(r.participating_workers))
                    for k, r in plugin.active_shuffles.items()
                }
                return f"tasks {dict(tasks)}, workers {workers}, runs {runs}"

            background = [asyncio.create_task(sample())]
            if variant == "adaptive":
                cluster.adapt(
                    Adaptive=AlwaysShrink,
                    minimum=1,
                    maximum=4,
                    interval="100ms",
                    wait_count=1,
                )
            elif variant == "external":
                background.append(asyncio.create_task(external_autoscaler()))
            else:
                raise ValueError(f"unknown variant {variant!r}")

            rng = np.random.default_rng(seed)
            workers_before = len(s.workers)
            failures = []
            rows = 0
            for _ in range(shuffles):
                cluster.scale(4)  # new work arrives: the cluster grows back
                deadline = time.monotonic() + 5
                while len(s.workers) < 4 and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                seeds = [int(x) for x in rng.integers(0, 2**31, 40)]
                df = dd.from_map(make_partition, seeds, meta=make_partition(0)[:0])
                shuffled = df.shuffle("k", shuffle_method="p2p")
                try:
                    result = client.persist(shuffled)
                    await wait(result, timeout=shuffle_timeout)
                    rows += int(await client.compute(result.shape[0]))
                    del result
                except TimeoutError:  # a stuck shuffle: say what the scheduler saw
                    failures.append(f"no result after {shuffle_timeout}s: {state()}")
                except Exception as e:  # a shuffle that fails for good
                    failures.append(f"{type(e).__name__}: {e}")
            wall = time.perf_counter() - t0

            # Once the shuffles are over, the cluster should shrink
            deadline = time.monotonic() + 10
            while len(s.workers) > 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            stop.set()
            background[0].cancel()  # the sampler; the autoscaler stops by itself
            await asyncio.gather(*background, return_exceptions=True)
            if cluster._adaptive is not None:
                cluster._adaptive.stop()

            end = [p for p in timeline if p[0] <= wall]
            worker_seconds = sum((b[0] - a[0]) * a[1] for a, b in pairwise(end))
            return {
                "variant": variant,
                "shuffles": shuffles,
                "runs": len(created),
                "restarts": len(created) - len(set(created)),
                "failures": failures,
                "rows_ok": rows == shuffles * 2_000_000,
                "wall_s": wall,
                "worker_seconds": worker_seconds,
                "workers_before": workers_before,
                "workers_after": len(s.workers),
                "timeline": timeline,
            }

    ShuffleSchedulerPlugin._create = counting_create  # type: ignore[method-assign]
    try:
        return asyncio.run(bounded(main(), shuffles * shuffle_timeout + 120))
    finally:
        ShuffleSchedulerPlugin._create = original_create  # type: ignore[method-assign]


async def bounded(coro: Any, timeout: float) -> Any:
    """Never hang: a stuck shuffle is reported by ``run_scenario``; anything else stuck
    past ``timeout`` gets the stacks of all tasks printed, then a TimeoutError.
    """
    import asyncio

    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        print(f"scenario still running after {timeout}s; tasks:", file=sys.stderr)
        for t in asyncio.all_tasks():
            print(f"-- {t!r}", file=sys.stderr)
            t.print_stack(limit=15, file=sys.stderr)
        task.cancel()
        raise TimeoutError(f"scenario still running after {timeout}s")
    return task.result()


def summary(result: dict[str, Any]) -> str:
    return (
        f"{result['variant']:>8}: {result['restarts']} restarts, "
        f"{len(result['failures'])} failed, wall {result['wall_s']:.1f}s, "
        f"{result['worker_seconds']:.1f} worker-s, workers {result['workers_before']}"
        f" -> {result['workers_after']} after, results "
        f"{'correct' if result['rows_ok'] else 'WRONG'}"
    )


def plot(results: dict[str, Any], png: Path) -> None:
    """Worker count and pinned-worker count over time, both builds, per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(results["patched"])
    fig, axes = plt.subplots(len(variants), 1, figsize=(9, 3.2 * len(variants)), squeeze=False)
    for ax, variant in zip(axes[:, 0], variants, strict=True):
        for build, color in (("pristine", "tab:red"), ("patched", "tab:blue")):
            r = results[build][variant]
            t = [p[0] for p in r["timeline"]]
            ax.step(
                t,
                [p[1] for p in r["timeline"]],
                where="post",
                color=color,
                label=f"{build}: workers ({r['restarts']} restarts)",
            )
            if build == "patched":
                ax.step(
                    t,
                    [p[2] for p in r["timeline"]],
                    where="post",
                    color=color,
                    linestyle="--",
                    label="patched: pinned workers",
                )
            ax.axvline(r["wall_s"], color=color, linestyle=":", linewidth=1)
        ax.set_title(
            f"{variant}: {results['patched'][variant]['shuffles']} P2P shuffles "
            "while the cluster is scaled down (dotted: last shuffle done)"
        )
        ax.set_xlabel("seconds")
        ax.set_ylabel("workers")
        ax.set_ylim(0, 4.5)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="runs per build and variant")
    parser.add_argument("--shuffles", type=int, default=3)
    parser.add_argument(
        "--variants", default=",".join(COMPARED), help=f"from: {', '.join(VARIANTS)}"
    )
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--plot", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        import json

        variant, shuffles, seed = args.measure
        print(json.dumps(run_scenario(variant, int(shuffles), int(seed))))
        return 0
    if args.plot:
        import json

        plot(json.loads(Path(args.plot[0]).read_text()), Path(args.plot[1]))
        return 0

    import random

    import envs
    import paired

    variants = [v.strip() for v in args.variants.split(",")]
    if unknown := set(variants) - set(VARIANTS):
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    pythons = envs.builds()
    described = envs.describe(pythons, "benchmarks/adaptive_churn.py")
    script = Path(__file__).resolve()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        b: {v: [] for v in variants} for b in envs.BUILDS
    }
    for r in range(args.rounds):
        for variant in variants:
            order = envs.BUILDS if r % 2 == 0 else envs.BUILDS[::-1]
            for build in order:
                result = envs.run_in(pythons[build], script, variant, str(args.shuffles), str(r))
                runs[build][variant].append(result)
                print(f"{build:>8} {summary(result)}", flush=True)

    print()
    print(
        f"{'variant':<9} {'build':<9} {'restarts':>8} {'failed':>6} {'wall':>7} "
        f"{'worker-s':>8}  (totals / medians over {args.rounds} rounds; ratio: geometric "
        "mean of the rounds' ratios, 95% interval)"
    )
    table = []
    rng = random.Random(0)
    for variant in variants:
        med: dict[str, dict[str, float]] = {}
        for build in envs.BUILDS:
            rs = runs[build][variant]
            med[build] = {
                "restarts": sum(x["restarts"] for x in rs),
                "failed": sum(len(x["failures"]) for x in rs),
                "wall_s": statistics.median(x["wall_s"] for x in rs),
                "worker_seconds": statistics.median(x["worker_seconds"] for x in rs),
            }
            m = med[build]
            print(
                f"{variant:<9} {build:<9} {m['restarts']:>8} {m['failed']:>6} "
                f"{m['wall_s']:>6.1f}s {m['worker_seconds']:>8.1f}"
            )
        # Round r of both builds ran the same seed: a pair
        ratio = {
            k: paired.compare(
                [[x[k] for x in runs["pristine"][variant]]],
                [[x[k] for x in runs["patched"][variant]]],
                rng,
            )
            for k in ("wall_s", "worker_seconds")
        }
        print(
            f"{variant:<9} {'ratio':<9} {'':>8} {'':>6} "
            + " ".join(
                f"{ratio[k]['ratio']:>7.2f} [{ratio[k]['ratio_95ci'][0]:.2f}, "
                f"{ratio[k]['ratio_95ci'][1]:.2f}]"
                for k in ("wall_s", "worker_seconds")
            )
        )
        table.append({"variant": variant, **{b: med[b] for b in envs.BUILDS}, "ratio": ratio})
    data = {**described, "table": table, "runs": runs}
    path = envs.save("adaptive_churn", data)
    last = {b: {v: runs[b][v][-1] for v in variants} for b in envs.BUILDS}
    last_path = envs.save("adaptive_churn_last_round", last)
    png = envs.RESULTS / "adaptive_churn.png"
    import subprocess

    subprocess.run(
        [str(pythons["patched"]), str(script), "--plot", str(last_path), str(png)],
        check=True,
    )
    print(f"wrote {path} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
