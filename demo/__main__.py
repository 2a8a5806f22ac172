"""The demo that ``python3 -m seriestool install`` ends with: P2P shuffles on a cluster
that keeps scaling down, with the distributed installed in this environment.

Runs the churn scenario of the benchmarks (benchmarks/adaptive_churn.py) once per
variant and prints what happened: shuffle restarts, wall time and worker counts. With
the patched build no shuffle restarts and the cluster still shrinks once the shuffles
are over.

``python -m demo --compare`` runs the same scenario on pristine distributed 2026.8.0
from PyPI and on the patched build, each in a venv of its own under build/bench/ (made
on first use), and prints them side by side.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHUFFLES = 3


def run_here() -> dict[str, Any]:
    import distributed

    from benchmarks.adaptive_churn import VARIANTS, run_scenario

    # Pristine builds log the failures of restarted shuffles; the summary counts them
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    return {
        "version": distributed.__version__,
        "results": [run_scenario(variant, shuffles=SHUFFLES) for variant in VARIANTS],
    }


def ok(results: list[dict[str, Any]]) -> bool:
    return all(r["rows_ok"] and not r["failures"] for r in results)


def header() -> None:
    print(
        f"demo: {SHUFFLES} P2P shuffles of 2,000,000 rows on a 4-worker LocalCluster "
        "that is being scaled down"
    )
    print("  adaptive: cluster.adapt() with a policy that always wants 1 worker")
    print("  external: an autoscaler calling retire_workers(workers=[...]) every 300 ms")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run the scenario on pristine 2026.8.0 and on the patched build",
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.json:
        print(json.dumps(run_here()))
        return 0

    from benchmarks.adaptive_churn import summary

    if not args.compare:
        out = run_here()
        header()
        print(f"  with distributed {out['version']}:")
        for result in out["results"]:
            print("  " + summary(result))
        return 0 if ok(out["results"]) else 1

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import envs

    header()
    print("  preparing both builds in build/bench/ (the first time takes a few minutes)")
    outs = {}
    for build, python in envs.builds().items():
        proc = subprocess.run(
            [str(python), "-m", "demo", "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-3000:])
            print(f"demo: the {build} build failed to run the scenario", file=sys.stderr)
            return 1
        outs[build] = json.loads(proc.stdout.strip().splitlines()[-1])
    for build, out in outs.items():
        print(f"  {build}, distributed {out['version']}:")
        for result in out["results"]:
            print("    " + summary(result))
    # The pristine build may restart shuffles and lose time: that is what it shows
    return 0 if ok(outs["patched"]["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
