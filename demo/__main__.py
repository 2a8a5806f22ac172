"""The demo that ``python3 -m seriestool install`` ends with: P2P shuffles on a cluster
that keeps scaling down, with the distributed installed in this environment.

Runs scenario 3 of the benchmarks (benchmarks/adaptive_churn.py) once per variant and
prints what happened: shuffle restarts, wall time and worker counts. With the patched
build no shuffle restarts and the cluster still shrinks once the shuffles are over; run
``python3 benchmarks/adaptive_churn.py`` for the side-by-side comparison with pristine
distributed 2026.8.0.
"""

from __future__ import annotations

import logging
import sys
import warnings

import distributed

from benchmarks.adaptive_churn import VARIANTS, run_scenario, summary


def main() -> int:
    # Pristine builds log the failures of restarted shuffles; the summary counts them
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    print(
        f"demo: distributed {distributed.__version__}, 3 P2P shuffles of 2,000,000 rows "
        "on a 4-worker LocalCluster that is being scaled down"
    )
    print("  adaptive: cluster.adapt() with a policy that always wants 1 worker")
    print("  external: an autoscaler calling retire_workers(workers=[...]) every 300 ms")
    ok = True
    for variant in VARIANTS:
        result = run_scenario(variant, shuffles=3)
        print("  " + summary(result))
        ok &= result["rows_ok"] and not result["failures"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
