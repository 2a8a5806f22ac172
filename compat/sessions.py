"""The processes of a session: what the compat scripts start, each run in a session of
its own, and kill by pid when the run ends (Linux: reads /proc)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def session_processes(sid: int) -> list[tuple[int, str]]:
    """Live processes (not zombies) of session ``sid``: (pid, command line)"""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) != sid or fields[0] == "Z":
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        found.append((int(entry.name), cmd.strip()))
    return found


def kill_session(sid: int, deadline: float = 10) -> list[tuple[int, str]]:
    """SIGKILL every process of session ``sid`` (all started by one run of a script), by
    pid; returns those that were alive"""
    alive = session_processes(sid)
    for pid, _ in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + deadline
    while session_processes(sid) and time.monotonic() < end:
        time.sleep(0.1)
    return alive
