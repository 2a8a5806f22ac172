"""Paired comparisons of the two builds, shared by the benchmark scripts.

- ``Driver`` and ``protocol``: one warm ``--serve`` process per build, driven line by line
  (a request line in, a JSON line out), so that the builds can take turns run by run;
- ``compare``: the ratio patched/pristine of paired samples, as the geometric mean of the
  per-pair ratios, with a 95% bootstrap interval that resamples rounds and then pairs
  within rounds (runs on one pair of clusters are not independent).

This module runs in the driver (``python3``) and in both benchmark venvs: standard
library only.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

# samples[round][pair]; one value per run
Rounds = Sequence[Sequence[float]]


def protocol() -> tuple[IO[str], IO[str]]:
    """In a ``--serve`` process: the streams to read requests from and write replies to.

    Replies go to a private copy of stdout. File descriptor 1 is then pointed at stderr,
    so that nothing else that writes to stdout, in this process or in the worker
    processes it starts (which inherit it), can break the protocol.
    """
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return sys.stdin, replies


class Driver:
    """A ``script --serve args...`` process of one build; its stderr goes to ``log``"""

    def __init__(self, python: Path, script: Path, log: Path, *args: str):
        self.log = log.open("a")
        self.proc = subprocess.Popen(
            [str(python), str(script), "--serve", *args],
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

    def request(self, *words: object) -> Any:
        """Send one request line; return the decoded JSON reply"""
        assert self.proc.stdin is not None
        self.proc.stdin.write(" ".join(map(str, words)) + "\n")
        return json.loads(self._readline())

    def close(self, timeout: float = 120) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=timeout)
        self.log.close()


def geomean(rounds: Rounds) -> float:
    return math.exp(statistics.fmean(math.log(r) for pairs in rounds for r in pairs))


def bootstrap(rounds: Rounds, rng: random.Random, n: int = 4000) -> tuple[float, float]:
    """95% interval of the geometric mean ratio: resample rounds, then pairs in each"""
    means = sorted(
        geomean([rng.choices(pairs, k=len(pairs)) for pairs in rng.choices(rounds, k=len(rounds))])
        for _ in range(n)
    )
    return means[int(n * 0.025)], means[int(n * 0.975) - 1]


def compare(pristine: Rounds, patched: Rounds, rng: random.Random) -> dict[str, Any]:
    """Ratio patched/pristine of paired samples (same shape), with its interval"""
    ratios = [
        [p / u for p, u in zip(pr, ur, strict=True)]
        for pr, ur in zip(patched, pristine, strict=True)
    ]
    low, high = bootstrap(ratios, rng)
    return {
        "pristine_median": statistics.median(v for r in pristine for v in r),
        "patched_median": statistics.median(v for r in patched for v in r),
        "ratio": geomean(ratios),
        "ratio_95ci": [low, high],
    }
