"""Short output: one line per step (what ran, counts, time); the full output of pytest,
pip, ruff and mypy goes to a log under ``build/logs/`` and is printed only when the step
fails, or as it runs with ``--verbose``.
"""

from __future__ import annotations

import enum
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# pytest's exit code when it collected no test (e.g. everything deselected by -k).
PYTEST_NO_TESTS = 5


class Status(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    # The series has nothing for this step (e.g. it adds no test file, touches no .py).
    EMPTY = "skipped (nothing in the series)"
    # pytest ran and the pytest arguments selected no test (exit code 5).
    NONE_SELECTED = "no tests selected"
    # Left out on purpose (test --quick).
    SKIPPED = "skipped (--quick)"
    # Needs what this machine does not have (e.g. a snapshot of upstream's git).
    UNAVAILABLE = "skipped (not available here)"


@dataclass(frozen=True)
class Result:
    status: Status
    detail: str = ""


def duration(seconds: float) -> str:
    """``4.2s``, ``38s``, ``2m10s``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


@dataclass(frozen=True)
class Ran:
    returncode: int
    output: str


class Console:
    """Runs commands with their output in a log, and prints the step lines."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose

    def run(
        self,
        cmd: Sequence[str | Path],
        cwd: Path,
        log: Path,
        env: Mapping[str, str] | None = None,
    ) -> Ran:
        """Run ``cmd``, appending its output to ``log``; with ``verbose`` also print it."""
        args = [str(c) for c in cmd]
        log.parent.mkdir(parents=True, exist_ok=True)
        header = "$ " + " ".join(args) + "\n"
        with log.open("ab") as f:
            f.write(header.encode())
            start = f.tell()
            f.flush()
            if not self.verbose:
                proc = subprocess.run(
                    args, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT, check=False
                )
                returncode = proc.returncode
            else:
                print(header, end="", flush=True)
                with subprocess.Popen(
                    args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                ) as p:
                    assert p.stdout is not None
                    for line in p.stdout:
                        f.write(line)
                        sys.stdout.write(line.decode(errors="replace"))
                        sys.stdout.flush()
                returncode = p.returncode
        with log.open("rb") as f:
            f.seek(start)
            output = f.read().decode(errors="replace")
        return Ran(returncode, output)

    def show(self, output: str) -> None:
        """Print the output of a command that failed (already printed when verbose)."""
        if not self.verbose:
            sys.stdout.write(output if output.endswith("\n") or not output else output + "\n")
            sys.stdout.flush()

    def step(
        self,
        name: str,
        result: Result,
        seconds: float,
        log: str | None = None,
        output: str | None = None,
    ) -> None:
        """The step's one line, e.g. ``series tests: 130 passed in 28s``; a failed step's
        ``output`` (pytest's, pip's...) is printed above it.
        """
        if result.status is Status.FAILED and output:
            self.show(output)
        text = result.detail or result.status.value
        if result.status is Status.FAILED:
            text = f"FAILED: {text}"
        line = f"{name}: {text} in {duration(seconds)}"
        if log is not None and result.status is Status.FAILED:
            line += f" (log: {log})"
        print(line, flush=True)


def fresh_log(log: Path) -> Path:
    """``log``, emptied: one log per step and run."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    return log


_SUMMARY = re.compile(r"^=*\s*(.+?) in \d+(?:\.\d+)?s(?: \([^)]*\))?\s*=*$")
_COUNT = re.compile(r"\b(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")


def pytest_summary(output: str) -> str:
    """pytest's closing counts, e.g. ``1 failed, 129 passed, 3 warnings``; "" if none."""
    for line in reversed(output.splitlines()):
        m = _SUMMARY.match(line.strip())
        if m:
            return m.group(1)
    return ""


def pytest_counts(output: str) -> dict[str, int]:
    """``{"passed": 129, "failed": 1, ...}`` from pytest's closing line."""
    counts: dict[str, int] = {}
    for n, what in _COUNT.findall(pytest_summary(output)):
        key = "errors" if what.startswith("error") else what
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def pytest_result(ran: Ran, selecting: bool) -> Result:
    """What a pytest run means for its step.

    Exit code 5 (no test collected) is "no tests selected", not a failure, when pytest
    arguments (``-k``, ``-m``, node ids...) were given (``selecting``); without any, the
    test files hold no test, which is a failure.
    """
    summary = pytest_summary(ran.output)
    if ran.returncode == 0:
        return Result(Status.PASSED, summary or "passed")
    if ran.returncode == PYTEST_NO_TESTS:
        if selecting:
            counts = pytest_counts(ran.output)
            deselected = counts.get("deselected")
            detail = Status.NONE_SELECTED.value
            return Result(
                Status.NONE_SELECTED,
                f"{detail} ({deselected} deselected)" if deselected else detail,
            )
        return Result(Status.FAILED, "no tests collected: the test files hold no test")
    return Result(Status.FAILED, summary or f"pytest exit status {ran.returncode}")


class Timer:
    def __init__(self) -> None:
        self.start = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start
