#!/usr/bin/env python3
"""Mutation checks for the worker-pinning series.

Each mutation removes or breaks one behaviour of the series in build/work (a plain
text replacement that must match exactly once), runs the test files that guard it, and
restores the file. A test counts only if some mutation of the code it guards makes it
fail. Needs build/work (python3 -m seriestool import) with no uncommitted change under
distributed/, and build/dev-venv (python3 -m seriestool test PATH creates it).

Usage, from the repository's root:
    python3 mutations/mutate.py --check            # every old text occurs exactly once
    python3 mutations/mutate.py --baseline         # the new test files, unmutated
    python3 mutations/mutate.py [ID ...]           # the given mutations (default: all, ~1h)
    python3 mutations/mutate.py --all-files ID...  # every new test file for each mutation
Results: build/mutations/<id>.json (the tests that failed) and a line per mutation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

CLONE = Path(os.environ.get("MUT_CLONE", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(CLONE))

from seriestool.console import Console  # noqa: E402
from seriestool.project import Project  # noqa: E402
from seriestool.runpytest import run_pytest  # noqa: E402

WORK = CLONE / "build" / "work"
OUT = CLONE / "build" / "mutations"

F = {
    "DASH": "distributed/dashboard/tests/test_worker_pins_dashboard.py",
    "AD": "distributed/deploy/tests/test_adaptive_pins.py",
    "API": "distributed/http/scheduler/tests/test_api_pins.py",
    "PROM": "distributed/http/scheduler/tests/test_worker_pins_prometheus.py",
    "SHP": "distributed/shuffle/tests/test_shuffle_pins.py",
    "SHB": "distributed/shuffle/tests/test_shuffle_release_at_barrier.py",
    "SHO": "distributed/shuffle/tests/test_shuffle_release_outputs.py",
    "CL": "distributed/tests/test_client_pins.py",
    "DR": "distributed/tests/test_downscaling_report.py",
    "RET": "distributed/tests/test_retire_workers_rule.py",
    "WP": "distributed/tests/test_worker_pins.py",
    "ST": "distributed/tests/test_worker_pins_stateful.py",
    "WTC": "distributed/tests/test_workers_to_close_rule.py",
}
ALL = list(F)

WPX = "distributed/worker_pins.py"
SCH = "distributed/scheduler.py"
ADP = "distributed/deploy/adaptive.py"
SPC = "distributed/deploy/spec.py"
SHF = "distributed/shuffle/_scheduler_plugin.py"
CLI = "distributed/client.py"
DSH = "distributed/dashboard/components/scheduler.py"
APIF = "distributed/http/scheduler/api.py"
PRM = "distributed/http/scheduler/prometheus/worker_pins.py"

# (id, file, old, new, test files to run, description)
M: list[tuple[str, str, str, str, list[str], str]] = [
    # ---------------- worker_pins.py: candidates / explain ----------------
    (
        "WP01",
        WPX,
        "if ws.pinned_by or ws.long_running or ws.actors:",
        "if ws.long_running or ws.actors:",
        ["WTC", "DR", "ST", "RET", "API", "SHP", "AD", "CL", "DASH"],
        "candidates: pinned workers not kept (drop pinned_by from must-stay test)",
    ),
    (
        "WP02",
        WPX,
        "if ws.pinned_by or ws.long_running or ws.actors:",
        "if ws.pinned_by or ws.actors:",
        ["WTC", "DR", "DASH"],
        "candidates: seceded (long_running) workers not kept",
    ),
    (
        "WP03",
        WPX,
        "if ws.pinned_by or ws.long_running or ws.actors:",
        "if ws.pinned_by or ws.long_running:",
        ["WTC", "DR", "AD"],
        "candidates: actor workers not kept",
    ),
    (
        "WP04",
        WPX,
        "kept = plugin.valid_workers_downscaling(scheduler, valid)",
        "kept = valid",
        ["WTC", "DR", "RET", "SHP"],
        "candidates: plugins' valid_workers_downscaling ignored",
    ),
    (
        "WP05",
        WPX,
        "if key is not None and groups:",
        "if False:",
        ["WTC", "DR", "ST", "SHP", "RET", "AD"],
        "candidates: key= groups of must-stay workers not kept whole",
    ),
    (
        "WP06",
        WPX,
        """if ws.pinned_by:
                    why.append""",
        """if False:
                    why.append""",
        ["WTC", "DR", "DASH"],
        "candidates(explain): 'pinned' reason dropped",
    ),
    (
        "WP07",
        WPX,
        """if ws.long_running:
                    why.append""",
        """if False:
                    why.append""",
        ["WTC", "DR", "DASH"],
        "candidates(explain): 'long-running' reason dropped",
    ),
    (
        "WP08",
        WPX,
        """if ws.actors:
                    actors""",
        """if False:
                    actors""",
        ["WTC", "DR"],
        "candidates(explain): 'actors' reason dropped",
    ),
    (
        "WP09",
        WPX,
        """if id(ws) in filtered_by:
                    why.append""",
        """if False:
                    why.append""",
        ["WTC", "DR"],
        "candidates(explain): 'plugin' reason dropped",
    ),
    (
        "WP10",
        WPX,
        """            if kept_groups:
                assert key is not None""",
        """            if False:
                assert key is not None""",
        ["WTC", "DR", "ST"],
        "candidates(explain): 'group' reason dropped",
    ),
    (
        "WP11",
        WPX,
        '"removable": not why,',
        '"removable": True,',
        ["DR", "ST"],
        "report: removable always True",
    ),
    (
        "WP12",
        WPX,
        '"owner": self.owners.get(pinned_by),',
        '"owner": None,',
        ["DR"],
        "report: owner of pins dropped",
    ),
    (
        "WP13",
        WPX,
        """                            self.expiry[pinned_by][0]
                            if pinned_by in self.expiry""",
        """                            None
                            if pinned_by in self.expiry""",
        ["DR"],
        "report: expiry of pins dropped",
    ),
    (
        "WP14",
        WPX,
        '"since": self.since[pinned_by],',
        '"since": None,',
        ["DR"],
        "report: since of pins dropped",
    ),
    # ---------------- worker_pins.py: retire rule ----------------
    (
        "WP15",
        WPX,
        """if ignore_pins:
            return groups, {}""",
        """if True:
            return groups, {}""",
        ["RET", "API", "SHP", "CL"],
        "groups_to_retire: pins ignored (always as ignore_pins=True)",
    ),
    (
        "WP16",
        WPX,
        """        if key is None:
            groups = [[ws] for ws in wss]""",
        """        if True:
            groups = [[ws] for ws in wss]""",
        ["RET", "AD"],
        "groups_to_retire: key= ignored, each worker its own group",
    ),
    (
        "WP17",
        WPX,
        """            for ws in group
        }""",
        """            for ws in group if ws.pinned_by
        }""",
        ["RET", "ST", "AD", "SHP"],
        "refusals: unpinned group members not refused ('group' refusals dropped)",
    ),
    # ---------------- worker_pins.py: pin/unpin/leases ----------------
    (
        "WP18",
        WPX,
        "if ws is None or ws in self.leaving:",
        "if ws is None:",
        ["RET", "WP", "SHP"],
        "pin: workers being removed (leaving) can still be pinned",
    ),
    (
        "WP19",
        WPX,
        "if pinned_by in self.holders and self.owners.get(pinned_by) != owner:",
        "if False:",
        ["CL", "WP"],
        "pin: no check that the holder belongs to the same owner",
    ),
    (
        "WP20",
        WPX,
        'self._log("pin-workers", pinned_by, new, stimulus_id)',
        "pass",
        ["WP", "PROM", "CL", "DR"],
        "pin: pin-workers event not logged",
    ),
    (
        "WP21",
        WPX,
        """                    if timeout is None:
                        timeout = self.timeout""",
        """                    if False:
                        timeout = self.timeout""",
        ["CL", "SHP"],
        "pin: worker-pin-timeout default lease not applied to client pins",
    ),
    (
        "WP22",
        WPX,
        """            self._expire_after(pinned_by, timeout)
        if unknown:""",
        """            pass
        if unknown:""",
        ["CL", "DR"],
        "pin: no lease/expiry scheduled at all",
    ),
    (
        "WP23",
        WPX,
        "if owner is not None and timeout is not None and pinned_by in self.holders:",
        "if owner is not None and timeout is not None and pinned_by in self.holders and pinned_by not in self.expiry:",
        ["CL"],
        "pin: pinning again does not renew the lease",
    ),
    (
        "WP24",
        WPX,
        """        del self.expiry[pinned_by]
        wss = list(self.holders[pinned_by])""",
        """        del self.expiry[pinned_by]
        wss = []""",
        ["CL"],
        "_expire: lease runs out but pins are not released",
    ),
    (
        "WP25",
        WPX,
        """                _, handle = self.expiry.pop(pinned_by)
                self.scheduler.loop.remove_timeout(handle)""",
        """                _, handle = self.expiry.pop(pinned_by)""",
        ["CL", "DR"],
        "_release: pending expiry timer not cancelled",
    ),
    (
        "WP26",
        WPX,
        "self._log(action, pinned_by, wss, stimulus_id, **details)",
        "pass",
        ["WP", "PROM", "CL", "SHP"],
        "_release: unpin event not logged",
    ),
    (
        "WP27",
        WPX,
        """            if owner == client:
                wss""",
        """            if False:
                wss""",
        ["CL"],
        "remove_client: pins of a departed client not released",
    ),
    (
        "WP28",
        WPX,
        """        for pinned_by in sorted(ws.pinned_by):
            self._release(pinned_by, [ws], stimulus_id=stimulus_id)""",
        """        pass""",
        ["WP", "RET", "CL"],
        "remove_worker: pins of a departed worker not released",
    ),
    (
        "WP29",
        WPX,
        """        self.leaving.discard(ws)
        for""",
        """        for""",
        ["WP", "RET"],
        "remove_worker: departed worker not dropped from leaving",
    ),
    (
        "WP30",
        WPX,
        """        for pinned_by, wss in list(self.holders.items()):
            self._release(pinned_by, list(wss), stimulus_id=stimulus_id)""",
        """        return""",
        ["WP", "SHP"],
        "release_all: no-op (restart/close keep pins)",
    ),
    (
        "WP31",
        WPX,
        "            elif not force:",
        "            elif False:",
        ["CL"],
        "_client_unpin: a client may release others' pins without force",
    ),
    (
        "WP32",
        WPX,
        """                # One of this client's own names, or nothing to release
                pinned_by = own""",
        """                # One of this client's own names, or nothing to release
                pass""",
        ["CL"],
        "_client_unpin: own name not resolved to '<client>/<name>'",
    ),
    (
        "WP33",
        WPX,
        """            override=True,
            client=client,
""",
        "",
        ["CL"],
        "_override: override/client details dropped from event",
    ),
    (
        "WP34",
        WPX,
        'except (TypeError, ValueError) as e:\n            logger.debug("Refusing',
        'except ZeroDivisionError as e:\n            logger.debug("Refusing',
        ["CL"],
        "_reply: bad requests raise in the scheduler instead of answering the client",
    ),
    (
        "WP35",
        WPX,
        'raise ValueError(f"timeout must be a positive duration; got {timeout!r}")',
        "pass",
        ["CL"],
        "_client_pin: scheduler-side timeout validation removed",
    ),
    (
        "WP36",
        WPX,
        "return self.scheduler.coerce_address(address, resolve=False)",
        "return address",
        ["CL"],
        "_coerce: address without protocol not coerced",
    ),
    (
        "WP37",
        WPX,
        """                assert pinned_by in ws.pinned_by, (pinned_by, ws)""",
        "                pass",
        ["WP", "ST"],
        "validate: holders->pinned_by direction not checked",
    ),
    (
        "WP38",
        WPX,
        """                assert ws in self.holders.get(pinned_by, ()), (pinned_by, ws)""",
        "                pass",
        ["WP", "ST"],
        "validate: pinned_by->holders direction not checked",
    ),
    (
        "WP39",
        WPX,
        "words.append(f\"pinned by {', '.join(reason['pinned_by'])}\")",
        'words.append("pinned")',
        ["DASH"],
        "describe_reasons: pinned holders not named",
    ),
    (
        "WP40",
        WPX,
        "return list(dict.fromkeys(workers))",
        "return list(workers)",
        ["WP", "ST", "CL"],
        "validate_addresses: duplicates not removed",
    ),
    (
        "WP41",
        WPX,
        """    if not isinstance(pinned_by, str):
        raise TypeError(""",
        """    if False:
        raise TypeError(""",
        ["WP"],
        "_validate_pin_arguments: pinned_by type not checked",
    ),
    (
        "WP42",
        WPX,
        """        if not addresses:
            raise ValueError("workers must not be empty")""",
        "",
        ["CL"],
        "_client_pin: empty workers accepted by the scheduler",
    ),
    (
        "WP43",
        WPX,
        """        reasons = self.candidates(key, explain=True).reasons
        assert reasons is not None""",
        """        reasons = self.candidates(key, explain=True).reasons
        assert reasons is not None
        self.scheduler.log_event("worker-pins", {"action": "report"})""",
        ["DR"],
        "report: side effect added (logs an event), violating read-only",
    ),
    # ---------------- scheduler.py ----------------
    (
        "S01",
        SCH,
        '            "pinned_by": sorted(self.pinned_by),\n',
        "",
        ["WP"],
        "WorkerState.identity: pinned_by dropped",
    ),
    (
        "S02",
        SCH,
        """        self.worker_pins.release_all(stimulus_id=f"scheduler-close-{time()}")\n""",
        "",
        ["WP", "SHP"],
        "Scheduler.close: pins not released",
    ),
    (
        "S03",
        SCH,
        "        self.worker_pins.remove_worker(ws, stimulus_id=stimulus_id)\n",
        "",
        ["WP", "RET", "SHP"],
        "Scheduler.remove_worker: extension not told",
    ),
    (
        "S04",
        SCH,
        "        self.worker_pins.validate()\n",
        "",
        ["WP"],
        "validate_state: pin index not validated",
    ),
    (
        "S05",
        SCH,
        'msg = {"op": "stream-start", "worker-pins": True}',
        'msg = {"op": "stream-start"}',
        ["CL", "DR", "PROM"],
        "add_client: stream-start does not announce worker-pins",
    ),
    (
        "S06",
        SCH,
        "            self.worker_pins.remove_client(client, stimulus_id=stimulus_id)\n",
        "",
        ["CL"],
        "remove_client: client pins not released",
    ),
    (
        "S07",
        SCH,
        """        # Pins belong to the work that was just forgotten
        self.worker_pins.release_all(stimulus_id=stimulus_id)
""",
        "",
        ["WP", "SHP"],
        "Scheduler.restart: pins not released",
    ),
    (
        "S08",
        SCH,
        """            key = pickle.loads(key)
        if key is not None and not callable(key):
            raise TypeError(f"key must be callable; got {type(key).__name__}")

        # Pinned workers""",
        """            key = pickle.loads(key)

        # Pinned workers""",
        ["WTC"],
        "workers_to_close: key callable check removed",
    ),
    (
        "S09",
        SCH,
        "if must_stay and memory_ratio is not None:",
        "if False:",
        ["WTC"],
        "workers_to_close: memory/data of must-stay workers not counted",
    ),
    (
        "S10",
        SCH,
        """            # unique data must not stay here because it was pinned
            ignore_pins = True""",
        """            # unique data must not stay here because it was pinned
            pass""",
        ["RET", "SHP"],
        "retire_workers: worker-close-gracefully no longer ignores pins",
    ),
    (
        "S11",
        SCH,
        "for address in self.workers_to_close(key=key, **kwargs)",
        "for address in self.workers_to_close(**kwargs)",
        ["RET", "ST", "AD"],
        "retire_workers: key not passed to workers_to_close",
    ),
    (
        "S12",
        SCH,
        """            if not groups:
                self._log_retire_workers({}, refused, stimulus_id)
                return {}""",
        """            if not groups:
                return {}""",
        ["RET", "API"],
        "retire_workers: all-refused outcome not logged",
    ),
    (
        "S13",
        SCH,
        '{"action": "could-not-retire", **reason, "stimulus_id": stimulus_id},',
        '{"action": "could-not-retire", "stimulus_id": stimulus_id},',
        ["RET", "AD"],
        "_log_retire_workers: reason dropped from could-not-retire events",
    ),
    (
        "S14",
        SCH,
        "refused = {} if ignore_pins else self.worker_pins.refusals(group)",
        "refused = {}",
        ["RET", "SHP"],
        "_track_retire_group: pins taken mid-retirement ignored",
    ),
    (
        "S15",
        SCH,
        "                self.worker_pins.leaving.update(group)\n",
        "",
        ["RET", "ST", "SHP"],
        "_track_retire_group: decided workers not marked leaving",
    ),
    (
        "S16",
        SCH,
        """                    refused[ws.address] = {"reason": "group", "must_stay": must_stay}""",
        "                    pass",
        ["RET", "AD"],
        "_track_retire_group: no-recipients abort doesn't report group members",
    ),
    (
        "S17",
        SCH,
        "            retiring = [r for r in retiring if self.workers.get(r[0].address) is r[0]]\n",
        "",
        ["RET"],
        "_track_retire_group: departed group members not dropped",
    ),
    (
        "S18",
        SCH,
        """        if not isinstance(ignore_pins, bool):
            raise TypeError(""",
        """        if False:
            raise TypeError(""",
        ["RET"],
        "retire_workers: ignore_pins type check removed",
    ),
    (
        "S19",
        SCH,
        '"queued": len(self.queued),',
        '"queued": 0,',
        ["DR"],
        "downscaling_report: queued fact wrong",
    ),
    (
        "S20",
        SCH,
        '            "downscaling_report": self.downscaling_report,\n',
        "",
        ["DR"],
        "downscaling_report RPC handler not registered",
    ),
    (
        "S21",
        SCH,
        """        if refused or no_recipients or remove:""",
        """        if refused or no_recipients:""",
        ["RET", "SHP"],
        "_track_retire_group: AMM policies not discarded after removal",
    ),
    (
        "S22",
        SCH,
        """            "memory_used": sum(ws.nbytes for ws in self.workers.values()),""",
        """            "memory_used": 0,""",
        ["DR"],
        "downscaling_report: memory_used fact wrong",
    ),
    # ---------------- deploy/adaptive.py, spec.py ----------------
    (
        "A01",
        ADP,
        "to_close = [w for w in workers if str(w) not in kept]",
        "to_close = list(workers)",
        ["AD", "SHP", "CL"],
        "Adaptive.scale_down: removes every proposed worker from the cluster",
    ),
    (
        "A02",
        ADP,
        "            kept -= unsure - known\n",
        "",
        ["AD"],
        "Adaptive.scale_down: workers unknown to the scheduler not removed",
    ),
    (
        "A03",
        ADP,
        "        unsure = kept - self._suggested\n",
        "        unsure = kept\n",
        ["AD"],
        "Adaptive.scale_down: always asks the scheduler for identity",
    ),
    (
        "A04",
        ADP,
        "            names.update(name for name, job in jobs.items() if job in touched)\n",
        "",
        ["AD"],
        "Adaptive.scale_down: other workers of a job not added",
    ),
    (
        "A05",
        ADP,
        "            kept.update(name for name in names if jobs.get(name) in kept_jobs)\n",
        "",
        ["AD"],
        "Adaptive.scale_down: job with a kept worker still removed",
    ),
    (
        "A06",
        ADP,
        "key = self.worker_key or _job_key(self._worker_jobs())",
        "key = self.worker_key",
        ["AD"],
        "Adaptive.workers_to_close: no job key",
    ),
    (
        "A07",
        ADP,
        """                if "mutually exclusive" not in str(e):
                    raise""",
        """                raise""",
        ["AD"],
        "Adaptive._retire_workers: no fallback for old schedulers",
    ),
    (
        "A08",
        ADP,
        "if key is not None and self._retire_with_key:",
        "if False:",
        ["AD"],
        "Adaptive._retire_workers: key never passed to retire_workers",
    ),
    (
        "A09",
        ADP,
        "    if len(set(jobs.values())) == len(jobs):\n        return None",
        "    return None",
        ["AD"],
        "_job_key: always None (no job grouping)",
    ),
    (
        "A10",
        ADP,
        "if key is not None and self._retire_with_key:",
        "if self._retire_with_key:",
        ["AD"],
        "Adaptive._retire_workers: key= sent even when None",
    ),
    (
        "SP1",
        SPC,
        "jobs[str(name) + suffix] = name",
        "jobs[str(name) + suffix] = str(name) + suffix",
        ["AD"],
        "SpecCluster._worker_jobs: grouped workers not mapped to their job",
    ),
    # ---------------- shuffle/_scheduler_plugin.py ----------------
    (
        "SH01",
        SHF,
        """        self.scheduler.pin_workers(
            self.pinned_by(shuffle), workers, stimulus_id=stimulus_id
        )""",
        "        pass",
        ["SHP", "SHB", "SHO", "AD"],
        "_pin_participants: no-op",
    ),
    (
        "SH02",
        SHF,
        """                self._pin_participants(state, [worker], stimulus_id=stimulus_id)
        return state.run_spec""",
        """                pass
        return state.run_spec""",
        ["SHP", "SHB", "SHO"],
        "_get: participants that join later not pinned",
    ),
    (
        "SH03",
        SHF,
        "        self.scheduler.unpin_workers(self.pinned_by(shuffle), stimulus_id=stimulus_id)\n",
        "",
        ["SHP", "SHB", "SHO"],
        "_deactivate: run's pins not released",
    ),
    (
        "SH04",
        SHF,
        """    async def close(self) -> None:
        self._deactivate_all(stimulus_id=f"p2p-close-{time()}")""",
        """    async def close(self) -> None:
        pass""",
        ["SHP"],
        "plugin close: pins not released",
    ),
    (
        "SH05",
        SHF,
        '        self._deactivate_all(stimulus_id=f"p2p-restart-{time()}")',
        "        self.active_shuffles.clear()",
        ["SHP"],
        "plugin restart: pins not released",
    ),
    (
        "SH06",
        SHF,
        "        return available or workers",
        "        return workers",
        ["SHP"],
        "_calculate_worker_for: retiring workers not avoided",
    ),
    (
        "SH07",
        SHF,
        "        shuffle._inputs_done = True",
        "        pass",
        ["SHB", "SHO", "SHP"],
        "_set_inputs_done: barrier completion not recorded",
    ),
    (
        "SH08",
        SHF,
        "                self._release_input_only_workers(key, stimulus_id=stimulus_id)\n",
        "",
        ["SHB", "SHO", "SHP"],
        "transition(memory): input-only workers not released",
    ),
    (
        "SH09",
        SHF,
        """            shuffle.participating_workers - shuffle.output_workers,""",
        """            shuffle.participating_workers,""",
        ["SHB", "SHO", "SHP"],
        "_release_input_only_workers: releases output workers too",
    ),
    (
        "SH10",
        SHF,
        """        if shuffle is None or not shuffle._inputs_done:
            return""",
        """        if shuffle is None:
            return""",
        ["SHB", "SHP"],
        "_release_input_only_workers: does not wait for the barrier to be done",
    ),
    (
        "SH11",
        SHF,
        """                shuffle._outputs_released.add(worker)
                self.scheduler.unpin_workers(
                    self.pinned_by(shuffle), [worker], stimulus_id=stimulus_id
                )""",
        """                shuffle._outputs_released.add(worker)""",
        ["SHO", "SHB", "SHP"],
        "_output_computed: finished output worker not unpinned",
    ),
    (
        "SH12",
        SHF,
        "                    self._pin_participants(shuffle, [worker], stimulus_id=stimulus_id)\n",
        "                    pass\n",
        ["SHO"],
        "_output_needed_again: worker not pinned again",
    ),
    (
        "SH14",
        SHF,
        """            if (
                shuffle._inputs_done and worker not in shuffle.output_workers
            ) or worker in shuffle._outputs_released:""",
        """            if False:""",
        ["SHB", "SHO"],
        "remove_worker: run restarted even if it no longer needs the worker",
    ),
    (
        "SH15",
        SHF,
        """        if not restarted:
            return False""",
        """        return False""",
        ["SHB", "SHO"],
        "_shares_output_tasks_with_restarted_run: always False",
    ),
    (
        "SH16",
        SHF,
        """        if len(barrier.dependents) != len(worker_for):
            return""",
        """        return""",
        ["SHO", "SHB"],
        "_track_outputs: outputs never tracked",
    ),
    (
        "SH17",
        SHF,
        "            if not state._inputs_done:\n",
        "            if True:\n",
        ["SHB", "SHO", "SHP"],
        "_get: workers joining after the barrier pinned too",
    ),
    (
        "SH18",
        SHF,
        "            shuffle.participating_workers.discard(worker)\n",
        "            pass\n",
        ["SHB", "SHO"],
        "remove_worker: unneeded departed worker kept in participating_workers",
    ),
    # ---------------- client.py ----------------
    (
        "C01",
        CLI,
        "        await self.client._unpin_workers(self.pinned_by)",
        "        pass",
        ["CL"],
        "WorkerPins._release: no-op",
    ),
    (
        "C02",
        CLI,
        """    def __exit__(self, *exc_info: object) -> None:
        self.release()""",
        """    def __exit__(self, *exc_info: object) -> None:
        pass""",
        ["CL"],
        "WorkerPins.__exit__: does not release",
    ),
    (
        "C03",
        CLI,
        """    async def __aexit__(self, *exc_info: object) -> None:
        await self._release()""",
        """    async def __aexit__(self, *exc_info: object) -> None:
        pass""",
        ["CL"],
        "WorkerPins.__aexit__: does not release",
    ),
    (
        "C04",
        CLI,
        """        for future in self._worker_pins_requests.values():
            if not future.done():""",
        """        for future in ():
            if not future.done():""",
        ["CL"],
        "_fail_worker_pins_requests: no-op",
    ),
    (
        "C05",
        CLI,
        'self._scheduler_has_worker_pins = bool(msg[0].get("worker-pins"))',
        "self._scheduler_has_worker_pins = True",
        ["CL", "DR"],
        "Client: assumes every scheduler has worker pins",
    ),
    (
        "C06",
        CLI,
        """        if self.unknown:
            warnings.warn(""",
        """        if False:
            warnings.warn(""",
        ["CL"],
        "WorkerPins._pin: no warning for unknown workers",
    ),
    (
        "C07",
        CLI,
        "    if seconds is None or not seconds > 0:",
        "    if seconds is None:",
        ["CL"],
        "_lease: non-positive timeout accepted client-side",
    ),
    (
        "C08",
        CLI,
        '''    """``obj`` with every tuple turned back into a list, recursively"""''',
        """    return obj""",
        ["DR"],
        "_with_lists: identity (tuples stay)",
    ),
    (
        "C09",
        CLI,
        """        if self.client.asynchronous:
            raise TypeError("Use 'async with' with an asynchronous client")""",
        "",
        ["CL"],
        "WorkerPins.__enter__: sync 'with' allowed on async client",
    ),
    (
        "C10",
        CLI,
        """        if self.status not in ("running", "connecting"):
            raise ClosedClientError""",
        """        if False:
            raise ClosedClientError""",
        ["CL"],
        "_worker_pins_request: closed client check removed",
    ),
    (
        "C11",
        CLI,
        """            exc_type = {"TypeError": TypeError, "ValueError": ValueError}""",
        """            exc_type = {}""",
        ["CL", "WP"],
        "_handle_worker_pins: remote TypeError/ValueError become RuntimeError",
    ),
    (
        "C12",
        CLI,
        """    async def _downscaling_report(self, workers: list[str] | None) -> dict[str, Any]:
        if not self._scheduler_has_worker_pins:
            raise await self._no_worker_pins()""",
        """    async def _downscaling_report(self, workers: list[str] | None) -> dict[str, Any]:""",
        ["DR"],
        "Client.downscaling_report: no early failure on old scheduler",
    ),
    (
        "C13",
        CLI,
        """            raise ClosedClientError(f"Client is {self.status}: cannot change pins")
        if not self._scheduler_has_worker_pins:
            raise await self._no_worker_pins()""",
        """            raise ClosedClientError(f"Client is {self.status}: cannot change pins")""",
        ["CL"],
        "Client._worker_pins_request: no early failure on old scheduler",
    ),
    (
        "C14",
        CLI,
        """        if self.client.status in ("closing", "closed"):
            # The scheduler releases the pins of a client that goes away
            return""",
        "",
        ["CL"],
        "WorkerPins._release: tries to unpin through a closing client",
    ),
    (
        "C15",
        CLI,
        """        self.status = "closing"
        self._fail_worker_pins_requests()""",
        '''        self.status = "closing"''',
        ["CL"],
        "Client._close: in-flight pin requests not failed",
    ),
    (
        "C16",
        CLI,
        """                except CommClosedError:
                    self._fail_worker_pins_requests()""",
        """                except CommClosedError:
                    pass""",
        ["CL"],
        "Client._handle_report: pin requests not failed on broken comm",
    ),
    # ---------------- dashboard / http ----------------
    (
        "D01",
        DSH,
        'data["kept_because"][-1] = describe_reasons(kept.get(ws, []))',
        'data["kept_because"][-1] = ""',
        ["DASH"],
        "WorkerTable.update: kept_because empty",
    ),
    (
        "D02",
        DSH,
        'total_data = f"{sum(bool(v) for v in data[name])} kept"',
        'total_data = ""',
        ["DASH"],
        "WorkerTable.update: total row of kept_because empty",
    ),
    (
        "D03",
        DSH,
        '            "kept_because": "kept because",\n',
        "",
        ["DASH"],
        "WorkerTable: column title rename dropped",
    ),
    (
        "H01",
        APIF,
        '    ("/api/v1/downscaling_report", DownscalingReportHandler, {}),\n',
        "",
        ["DR", "API"],
        "HTTP API: downscaling_report route removed",
    ),
    (
        "H02",
        APIF,
        """        except (TypeError, ValueError) as e:
            self.set_status(400)""",
        """        except ZeroDivisionError as e:
            self.set_status(400)""",
        ["DR"],
        "HTTP downscaling_report: bad arguments give 500, not 400",
    ),
    ("P01", PRM, "value=len(owners),", "value=0,", ["PROM"], "prometheus: client_holders always 0"),
    (
        "P02",
        PRM,
        "value=len(set().union(*holders.values())),",
        "value=len(holders),",
        ["PROM"],
        "prometheus: pinned_workers counts holders",
    ),
    (
        "P03",
        PRM,
        """        holders = self.server.worker_pins.holders""",
        """        holders = self.server.worker_pins.holders
        self.server.log_event("worker-pins", {"action": "scrape"})""",
        ["PROM"],
        "prometheus: scraping has a side effect",
    ),
    (
        "P04",
        "distributed/http/scheduler/prometheus/core.py",
        "    WorkerPinsMetricCollector,\n",
        "",
        ["PROM"],
        "prometheus: collector not registered",
    ),
]

# Extra mutations, added after a first pass showed tests that nothing had made fail.
# file "MULTI": old is a list of (file, old, new) edits applied together.
M += [
    (
        "X01",
        CLI,
        """            _worker_addresses(workers, "workers"),
            name=_pins_name(name),
            timeout=_lease(timeout),""",
        """            workers,
            name=name if name is not None else "n",
            timeout=timeout,""",
        ["CL"],
        "Client.pin_workers: client-side argument checks skipped (scheduler checks)",
    ),
    (
        "X02",
        WPX,
        '    return validate_addresses(workers, "workers")',
        "    return list(workers)",
        ["WP"],
        "_validate_pin_arguments: workers not validated",
    ),
    (
        "X03",
        WPX,
        """    if not pinned_by:
        raise ValueError("pinned_by must be a non-empty str")""",
        "",
        ["WP"],
        "_validate_pin_arguments: empty pinned_by accepted",
    ),
    (
        "X04",
        WPX,
        """                unknown.append(address)
                continue
            pinned.append(address)""",
        """                continue
            pinned.append(address)""",
        ["WP", "CL"],
        "pin: unknown workers not reported",
    ),
    (
        "X05",
        WPX,
        "ws.pinned_by.remove(pinned_by)",
        "ws.pinned_by.clear()",
        ["WP", "CL"],
        "_release: releases every holder's pin on the worker",
    ),
    (
        "X06",
        WPX,
        """                elif ws in held:
                    wss.append(ws)""",
        """                else:
                    wss = list(held)""",
        ["WP"],
        "unpin(workers=...): releases all workers of the holder",
    ),
    (
        "X07",
        WPX,
        "        pinned = sorted(ws.address for ws in group if ws.pinned_by)",
        "        return {}\n        pinned = []",
        ["API", "RET"],
        "refusals: always empty (pins never refuse retirement, up front or in flight)",
    ),
    (
        "X08",
        "MULTI",
        [
            (
                WPX,
                "if ws.pinned_by or ws.long_running or ws.actors:",
                "if ws.long_running or ws.actors:",
            ),
            (
                WPX,
                "        pinned = sorted(ws.address for ws in group if ws.pinned_by)",
                "        return {}\n        pinned = []",
            ),
        ],
        None,
        ["API", "RET"],
        "candidates ignores pins AND refusals always empty (both layers removed)",
    ),
    (
        "X09",
        WPX,
        '"processing": len(ws.processing),',
        '"processing": 0,',
        ["DR"],
        "report: processing count dropped",
    ),
    (
        "X10",
        SCH,
        '"target": self.adaptive_target(target_duration),',
        '"target": len(self.workers),',
        ["DR"],
        "downscaling_report: adaptive target wrong",
    ),
    (
        "X11",
        SCH,
        "            if not wss:\n                return {}\n",
        "            if not wss:\n                self._log_retire_workers({}, {}, stimulus_id)\n                return {}\n",
        ["RET"],
        "retire_workers: logs an event when there is nothing to retire",
    ),
    # Added with the tests that the first pass found missing
    (
        "X12",
        WPX,
        "valid = [ws for ws in workers if not (ws.long_running or ws.actors)]",
        "valid = [ws for ws in workers if not ws.actors]",
        ["WTC"],
        "candidates without pins: seceded workers not kept",
    ),
    (
        "X13",
        WPX,
        "valid = [ws for ws in workers if not (ws.long_running or ws.actors)]",
        "valid = [ws for ws in workers if not ws.long_running]",
        ["WTC"],
        "candidates without pins: actor workers not kept",
    ),
    (
        "X14",
        WPX,
        """            self._log("pin-workers", pinned_by, new, stimulus_id)
""",
        """            self._log("pin-workers", pinned_by, new, stimulus_id)
            for plugin in list(self.scheduler.plugins.values()):
                if type(plugin).__name__ == "WorkerStatusPlugin":
                    plugin.bcomm.send(["pins", {"pinned_by": pinned_by}])
""",
        ["WP"],
        "pin: announced to cluster managers on the worker-status stream",
    ),
]


def apply(file: str, old: str, new: str) -> None:
    path = WORK / file
    text = path.read_text()
    n = text.count(old)
    assert n == 1, f"{file}: old text occurs {n} times: {old[:80]!r}"
    path.write_text(text.replace(old, new))


def restore(file: str) -> None:
    subprocess.run(["git", "-C", str(WORK), "checkout", "--", file], check=True)


def run_tests(files: list[str], tag: str) -> dict:
    """Run the test files as `seriestool test PATH` does (seriestool/runpytest.py), plus
    a plugin that turns off hypothesis shrinking and a per-test signal timeout."""
    OUT.mkdir(parents=True, exist_ok=True)
    xml = OUT / f"{tag}.xml"
    xml.unlink(missing_ok=True)
    project = Project.load(CLONE)
    extra = [
        *("-p", "mutations.noshrink", "-q", "-p", "no:randomly", "--tb=line"),
        *("-o", "timeout=120", "-o", "timeout_method=signal"),
        *("-o", "junit_family=xunit2", f"--junitxml={xml}"),
    ]
    t0 = time.time()
    ran = run_pytest(
        project,
        project.dev_venv_dir,
        WORK,
        [WORK / F[f] for f in files],
        extra,
        OUT / f"{tag}.log",
        Console(),
        source_tree=WORK.resolve(),
    )
    failed, passed = [], []
    if xml.exists():
        for tc in ET.parse(xml).getroot().iter("testcase"):
            name = f"{tc.get('classname')}::{tc.get('name')}"
            bad = tc.find("failure") is not None or tc.find("error") is not None
            skipped = tc.find("skipped") is not None
            (failed if bad else passed).append(name) if not skipped else None
    return {
        "failed": failed,
        "passed": len(passed),
        "secs": round(time.time() - t0),
        "tail": ran.output[-600:],
    }


def main(argv: list[str]) -> None:
    if "--check" in argv:
        for mid, file, old, new, _files, _desc in M:
            for f_, o_, _new in old if file == "MULTI" else [(file, old, new)]:
                n = (WORK / f_).read_text().count(o_)
                print(("ok " if n == 1 else f"BAD({n}) ") + mid)
        return
    if "--baseline" in argv:
        r = run_tests(ALL, "baseline")
        print(json.dumps(r, indent=1))
        (OUT / "baseline.json").write_text(json.dumps(r, indent=1))
        return
    all_files = "--all-files" in argv
    ids = [a for a in argv if not a.startswith("--")]
    todo = [m for m in M if not ids or m[0] in ids]
    for mid, file, old, new, files, desc in todo:
        edits = old if file == "MULTI" else [(file, old, new)]
        try:
            for f_, o_, n_ in edits:
                apply(f_, o_, n_)
            r = run_tests(ALL if all_files else files, mid)
        finally:
            for f_ in {e[0] for e in edits}:
                restore(f_)
        r.update(id=mid, file=file, desc=desc, files=ALL if all_files else files)
        (OUT / f"{mid}.json").write_text(json.dumps(r, indent=1))
        print(
            f"{mid} [{r['secs']}s] {desc}: {len(r['failed'])} failed, {r['passed']} passed",
            flush=True,
        )
        for name in r["failed"]:
            print("    FAIL", name, flush=True)
        if not r["failed"] and not r["passed"]:
            print("    ???", r["tail"], flush=True)
    assert not subprocess.run(
        ["git", "-C", str(WORK), "status", "--porcelain", "distributed"],
        capture_output=True,
        text=True,
    ).stdout.strip(), "tree dirty!"


if __name__ == "__main__":
    main(sys.argv[1:])
