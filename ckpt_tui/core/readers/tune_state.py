"""Tune's experiment state (experiment_state-*.json) and each trial's checkpoint manager in it,
applied to a trial read from disk (core/readers/tune.py reads the trials)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Optional

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.disk import display_name
from ckpt_tui.core.model import TUNE, Checkpoint, Report, Run, Trial
from ckpt_tui.core.pickle_reader import ManagerState, read_checkpoint_config, read_checkpoint_manager
from ckpt_tui.core.ray_names import RESULT, TUNE_CHECKPOINT_INDEX_RE, newest_experiment_state
from ckpt_tui.core.readers.common import read_json_file, wrong_type
from ckpt_tui.core.storage import storage_for

_INDEX_RE = TUNE_CHECKPOINT_INDEX_RE
# A live Tune driver rewrites experiment_state at least every checkpoint period (10 s, more on
# a big run: 19 times what a write takes). A state older than this is a run that stopped, even
# where it still says RUNNING (a driver killed by a signal never writes the final state).
LIVE_SECONDS = 120.0
RUNNING = "RUNNING"


def _ckpt_index(name: str) -> Optional[int]:
    m = _INDEX_RE.match(name)
    return int(m.group(1)) if m else None


def _apply_manager(run: Run, trial: Trial, manager: ManagerState, on_disk: dict, status: Optional[str]) -> None:
    """Which reports Ray registered, from the trial's checkpoint manager in the newest
    experiment state (the authority), and which checkpoint dirs Ray does not track.

    - A session that ended (stop, restore, failure, PBT exploit) left its last reports
      unregistered: the next session starts its checkpoint numbering at the count Ray
      registered, so a report whose checkpoint index is not below the next session's first
      one was never registered.
    - Ray's list and latest name the registered checkpoints still tracked, with their report;
      a registered checkpoint with no result.json row (a row never flushed, or a class
      Trainable, whose rows name no checkpoint) is added from the manager's metrics.
    - Rows after the last registered one are pending on a live RUNNING trial (registered in
      order, as Ray will) and were never registered otherwise.
    """
    rows: list[Report] = trial.reports
    n = len(rows)
    unreg = [False] * n
    # 1. session boundaries: a monotonic stack of candidate rows by checkpoint index
    stack: list[tuple[int, int]] = []  # (row, its checkpoint index)
    last_of_name: dict[str, int] = {}
    for i, r in enumerate(rows):
        x = _ckpt_index(r.checkpoint_name)
        if x is not None:
            while stack and stack[-1][1] >= x:
                unreg[stack.pop()[0]] = True
            stack.append((i, x))
        prev = last_of_name.get(r.checkpoint_name)
        if prev is not None:
            unreg[prev] = True  # the same name again: the earlier save was never registered
        last_of_name[r.checkpoint_name] = i

    # 2. match what the manager tracks (in this trial's dir) to rows
    own = [rc for rc in manager.registered if rc.trial_dir == trial.id]
    latest = manager.latest
    tracked = list(own)
    if latest is not None and latest.trial_dir == trial.id and not any(rc.path == latest.path for rc in own):
        tracked.append(latest)
    matched: dict[int, object] = {}
    synthesized = []
    by_name: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_name.setdefault(r.checkpoint_name, []).append(i)
    for rc in tracked:
        best = None
        for i in reversed(by_name.get(rc.name, ())):
            r = rows[i]
            if i in matched:
                continue
            m = r.metrics
            if m.get("training_iteration") == rc.metrics.get("training_iteration") and m.get(
                "timestamp"
            ) == rc.metrics.get("timestamp"):
                best = i
                break
            if best is None and not unreg[i]:
                best = i
        if best is None:
            synthesized.append(rc)
        else:
            matched[best] = rc
            unreg[best] = False
    last_registered = max(matched, default=-1)
    live = status == RUNNING and run.state_fresh
    pending = 0
    for i in range(last_registered + 1, n):
        if not unreg[i]:
            if live:
                pending += 1
            else:
                unreg[i] = True

    # 3. the registration sequence: registered rows in order, the manager's extra ones by index
    sequence = [(r.checkpoint_name, r.metrics, r.iteration, r.line) for i, r in enumerate(rows) if not unreg[i]]
    if synthesized:

        def order_key(name, metrics):
            x = _ckpt_index(name)
            it = metrics.get("training_iteration")
            return (x if x is not None else float("inf"), it if isinstance(it, int) else 0)

        for rc in sorted(synthesized, key=lambda rc: order_key(rc.name, rc.metrics)):
            key = order_key(rc.name, rc.metrics)
            at = len(sequence)
            for j, (name, metrics, _it, _line) in enumerate(sequence):
                if order_key(name, metrics) > key:
                    at = j
                    break
            it = rc.metrics.get("training_iteration")
            sequence.insert(at, (rc.name, rc.metrics, it if type(it) is int else None, None))
        if not any(r.checkpoint_name for r in rows):
            trial.warnings.append(
                f"{display_name(trial.path)}: result.json names no checkpoint (a class Trainable): "
                "the registered checkpoints are read from the experiment state; the ones Ray "
                "already deleted are not recorded anywhere, so ranks count only those Ray still tracks"
            )
    reports = [Report(i, name, metrics, it, line) for i, (name, metrics, it, line) in enumerate(sequence)]
    trial.reports = reports
    trial.unregistered = [rows[i] for i in range(n) if unreg[i]]
    trial.state_fresh = run.state_fresh

    # 4. checkpoint dirs: registered, untracked, or (on a live trial) not reported yet
    last_report = {r.checkpoint_name: r for r in reports}
    logged = {r.checkpoint_name: r for r in trial.unregistered}
    prefix = trial.path + os.sep
    trial_id = trial.id
    checkpoints = [
        Checkpoint(trial_id, name, prefix + name, None, None, r, on_disk[name])
        for r in reports
        if (name := r.checkpoint_name) in on_disk and last_report[name] is r
    ]
    reported = len(checkpoints)
    untracked = 0
    newest_reported = max((x for r in rows if (x := _ckpt_index(r.checkpoint_name)) is not None), default=-1)
    for name in sorted(n_ for n_ in on_disk if n_ not in last_report):
        c = Checkpoint(trial_id, name, prefix + name, None, None, None, on_disk[name])
        c.logged = logged.get(name)
        x = _ckpt_index(name)
        if c.logged is None and live and (x is None or x > newest_reported):
            trial.warnings.append(
                f"{display_name(prefix + name)}: no report in result.json names it yet (being "
                "written?): listed, unscored, never deleted"
            )
        else:
            c.untracked = True
            untracked += 1
        checkpoints.append(c)
    trial.checkpoints = checkpoints
    if untracked:
        trial.warnings.append(
            f"{display_name(trial.path)}: {untracked} checkpoint{'s' if untracked != 1 else ''} on disk "
            "not tracked by Ray (its experiment state never registered "
            f"{'them' if untracked != 1 else 'it'}: a save pending when the run stopped, or a PBT "
            "exploit): Ray will never delete " + ("them" if untracked != 1 else "it")
        )
    if pending:
        trial.warnings.append(
            f"{display_name(os.path.join(trial.path, RESULT))}: {pending} report{'s' if pending != 1 else ''} "
            "newer than the experiment state on a RUNNING trial: counted as registered in order, as Ray will"
        )
    gone = len(last_report) - reported
    if gone > 0:
        trial.warnings.append(
            f"{display_name(os.path.join(trial.path, RESULT))}: {gone} registered checkpoint"
            f"{'s are' if gone != 1 else ' is'} no longer on disk (removed by Ray's retention or "
            "by hand): kept in the score history, as Ray keeps them"
        )


def _reason(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:100]


@dataclass
class ExperimentState:
    """What the newest ``experiment_state-*.json`` says, pickled parts read opcode by opcode."""

    path: Optional[str] = None
    statuses: dict = field(default_factory=dict)  # trial dir -> status
    managers: dict = field(default_factory=dict)  # trial dir -> ManagerState
    restore_points: dict = field(default_factory=dict)  # checkpoint path -> [trial dir, ...]
    config: Optional[CheckpointConfig] = None
    mtime: Optional[float] = None
    warnings: list = field(default_factory=list)

    @property
    def fresh(self) -> bool:
        return self.mtime is not None and time.time() - self.mtime < LIVE_SECONDS


_STATE_CACHE: dict = {}  # path -> (signature, ExperimentState, {hex: ManagerState})


def read_experiment_state(directory: str, names=None) -> ExperimentState:
    """The newest experiment state in ``directory``, parsed once per version of the file (a
    manager pickle that did not change between two versions is not parsed again). ``names``:
    the directory's listing when the caller has it (an object store is not asked again)."""
    fs = storage_for(directory)
    if names is None:
        try:
            names = fs.listdir(directory)
        except OSError:
            names = ()
    newest = newest_experiment_state(names)
    if newest is None:
        return ExperimentState()
    return read_experiment_state_file(os.path.join(directory, newest), directory)


def read_experiment_state_file(path: str, directory: Optional[str] = None) -> ExperimentState:
    """One experiment_state-*.json parsed (the only parser of that format: the deletion's
    checks use it too), cached per version of the file."""
    directory = os.path.dirname(path) if directory is None else directory
    fs = storage_for(path)
    try:
        st = fs.stat(path)
        sig = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, getattr(st, "etag", None))
    except OSError:
        sig = None
    cached = _STATE_CACHE.get(path)
    if cached is not None and sig is not None and cached[0] == sig:
        return cached[1]
    previous = cached[2] if cached is not None else {}
    out = ExperimentState(path=path, mtime=st.st_mtime if sig is not None else None)
    holder = Run(root=directory, layout=TUNE)
    state = read_json_file(path, None, holder, "experiment state")
    out.warnings = holder.warnings
    parsed: dict = {}
    if state is not None and not isinstance(state, dict):
        out.warnings.append(
            wrong_type(
                path, "the document", state, "an object", "trial status and the run's CheckpointConfig are unknown"
            )
        )
    if isinstance(state, dict):
        items = state.get("trial_data")
        if items is not None and not isinstance(items, list):
            out.warnings.append(wrong_type(path, "trial_data", items, "a list", "trial status unknown"))
        unreadable = 0
        for item in items if isinstance(items, list) else ():
            try:
                info = json.loads(item[0]) if isinstance(item, (list, tuple)) else None
            except (ValueError, TypeError, IndexError, RecursionError):
                info = None
            if not isinstance(info, dict) or not isinstance(info.get("relative_logdir"), str):
                unreadable += 1
                continue
            rel = info["relative_logdir"]
            if isinstance(info.get("status"), str):
                out.statuses[rel] = info["status"]
            elif info.get("status") is not None:
                unreadable += 1
            try:
                runtime = json.loads(item[1])
                packed = runtime.get("checkpoint_manager") if isinstance(runtime, dict) else None
                value = packed.get("value") if isinstance(packed, dict) else None
            except (ValueError, TypeError, IndexError, RecursionError):
                value = None
            if not isinstance(value, str):
                continue
            manager = previous.get(value) or parsed.get(value)
            if manager is None:
                try:
                    manager = read_checkpoint_manager(bytes.fromhex(value))
                except ValueError:
                    manager = None
            if manager is None:
                continue
            parsed[value] = manager
            out.managers[rel] = manager
            latest = manager.latest
            if latest is not None and latest.trial_dir:
                where = os.path.join(directory, latest.trial_dir, latest.name)
                out.restore_points.setdefault(where, []).append(rel)
        if unreadable:
            out.warnings.append(
                f"{display_name(path)}: trial_data: {unreadable} entr{'y' if unreadable == 1 else 'ies'} "
                "without a JSON object with relative_logdir (a string) and status (a string): "
                "their trials' status unknown"
            )
        runner = state.get("runner_data")
        if runner is not None and not isinstance(runner, dict):
            out.warnings.append(
                wrong_type(path, "runner_data", runner, "an object", "the run's CheckpointConfig is unknown")
            )
        packed = runner.get("_trial_checkpoint_config") if isinstance(runner, dict) else None
        value = packed.get("value") if isinstance(packed, dict) else None
        if isinstance(value, str):
            try:
                out.config = read_checkpoint_config(bytes.fromhex(value))
            except ValueError:
                out.config = None
        if out.config is None:
            out.warnings.append(
                f"{display_name(path)}: could not read the run's CheckpointConfig safely: using Ray's defaults"
            )
    if sig is not None:
        if len(_STATE_CACHE) > 4:
            _STATE_CACHE.clear()
        _STATE_CACHE[path] = (sig, out, parsed)
    return out


def _read_experiment_state(run: Run, directory: Optional[str] = None, quiet: bool = False, names=None) -> dict:
    """Trial statuses by trial dir name; sets the run's CheckpointConfig, each trial's checkpoint
    manager and the restore points from the newest ``experiment_state-*.json``."""
    directory = directory or run.root
    state = read_experiment_state(directory, names)
    if state.path is None:
        if not quiet:
            run.warnings.append(
                f"{display_name(directory)}: no experiment_state-*.json: trial status and the "
                "run's CheckpointConfig are unknown"
            )
        run.managers = {}
        run.restore_points = {}
        run.state_fresh = False
        return {}
    run.warnings.extend(state.warnings)
    run.run_config = state.config
    run.managers = state.managers
    run.restore_points = state.restore_points
    run.state_fresh = state.fresh
    return state.statuses
