"""Ray Tune's layout: trial dirs with ``checkpoint_NNNNNN/`` and ``result.json`` (JSON lines)."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Optional

from ckpt_tui.core.disk import display_name, is_utf8
from ckpt_tui.core.ray_names import PARAMS, RESULT, TUNE_CHECKPOINT_INDEX_RE, TUNE_CHECKPOINT_RE, newest_experiment_state
from ckpt_tui.core.storage import storage_for
from ckpt_tui.core.model import TUNE, TUNE_TRIAL, Checkpoint, Report, Run, Trial, is_aside
from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.pickle_reader import ManagerState, read_checkpoint_config, read_checkpoint_manager
from ckpt_tui.core.readers.common import _absolute, checkpoint_dirs, note_leftover, read_json_file, wrong_type

CHECKPOINT_RE = TUNE_CHECKPOINT_RE
_NULL_CHECKPOINT = b'"checkpoint_dir_name": null'
_NONFINITE = (b"NaN", b"Infinity")
_INDEX_RE = TUNE_CHECKPOINT_INDEX_RE
PREFETCH_AHEAD = 32  # trials listed ahead of the reader on an object store (core/storage)
# A live Tune driver rewrites experiment_state at least every checkpoint period (10 s, more on
# a big run: 19 times what a write takes). A state older than this is a run that stopped, even
# where it still says RUNNING (a driver killed by a signal never writes the final state).
LIVE_SECONDS = 120.0
RUNNING = "RUNNING"


def looks_like_trial(path: str) -> bool:
    try:
        names = storage_for(path).listdir(path)
    except OSError:
        return False
    return RESULT in names or PARAMS in names or any(CHECKPOINT_RE.match(n) for n in names)


def read_experiment(root: str) -> Run:
    run = Run(root=root, layout=TUNE)
    for _ in iter_experiment(run):
        pass
    return run


def iter_experiment(run: Run):
    """Read the experiment at ``run.root`` into ``run`` one trial at a time, yielding after
    each, so a caller can show the first trials while the rest are still being read."""
    root = run.root
    fs = storage_for(root)
    try:
        entries = sorted(fs.scandir(root), key=lambda e: e.name)
        error = None
    except OSError as exc:
        error = exc
        entries = []
    statuses = _read_experiment_state(run, names=None if error is not None else [e.name for e in entries])
    run.statuses = statuses
    if error is not None:
        run.warnings.append(f"{display_name(root)}: cannot list: {error.strerror or error}")
    ahead: list = []
    if not fs.local:  # list the trials while this one is parsed: first rows come early
        ahead = [e.path for e in entries if e.is_dir() and not e.name.startswith(".") and not is_aside(e.name)]
        if fs.stream(root, ahead):  # S3: one listing of the whole run, trial by trial
            ahead = []
        else:  # others: each trial listed on its own, PREFETCH_AHEAD ahead
            fs.prefetch(ahead[:PREFETCH_AHEAD])
    done = 0
    for entry in entries:
        if is_aside(entry.name):
            note_leftover(run, entry.path)
            continue
        try:
            if not entry.is_dir(follow_symlinks=True):
                continue
        except OSError:
            continue
        if entry.name.startswith("."):
            continue
        if ahead:
            done += 1
            fs.prefetch(ahead[done + PREFETCH_AHEAD - 1:done + PREFETCH_AHEAD])
        trial = read_trial(run, entry.path, entry.name)
        if not (trial.checkpoints or trial.report_count or trial.params) \
                and not looks_like_trial(entry.path):
            continue  # not a trial dir (driver_artifacts/ and the like): listed only when needed
        trial.status = statuses.get(entry.name)
        run.trials[entry.name] = trial
        yield trial


def read_single_trial(root: str) -> Run:
    run = Run(root=root, layout=TUNE_TRIAL)
    parent = os.path.dirname(root)
    statuses = _read_experiment_state(run, parent, quiet=True)
    run.statuses = statuses
    name = os.path.basename(root)
    trial = read_trial(run, root, name)
    trial.status = statuses.get(name)
    run.trials[name] = trial
    return run


def reread(run: Run, changed: set[str]) -> list[str]:
    """Re-read the named trial dirs of an experiment; "" (run level) refreshes statuses and
    picks up new or removed trial dirs. Returns the trial ids re-read."""
    done: list[str] = []
    statuses: Optional[dict] = None
    if "" in changed:
        run.warnings = []
        run.leftovers = []
        old_managers = run.managers
        old_fresh = run.state_fresh
        old_statuses = run.statuses
        statuses = _read_experiment_state(run)
        run.statuses = statuses
        fs = storage_for(run.root)  # an object store: the listing the poll just made (2 s at most)
        try:
            names = {e.name: e.path for e in fs.scandir(run.root)}
        except OSError:
            names = {}
        for name, path in names.items():
            if is_aside(name):
                note_leftover(run, path)
        for tid in list(run.trials):
            if tid not in names:
                del run.trials[tid]
        for name, path in sorted(names.items()):
            if name not in run.trials and not name.startswith(".") and storage_for(path).isdir(path) \
                    and looks_like_trial(path):
                changed.add(name)
    for tid in sorted(t for t in changed if t):
        path = os.path.join(run.root, tid)
        fs = storage_for(path)
        if not fs.local:  # one fresh listing of the trial, then the checks below cost nothing
            try:
                fs.forget(path)
                fs.refresh(path)
            except OSError:
                pass
        if not fs.isdir(path):
            run.trials.pop(tid, None)
            continue
        if tid not in run.trials and (tid.startswith(".") or not looks_like_trial(path)):
            continue  # e.g. driver_artifacts/: a fresh read_run would not list it either
        old = run.trials.get(tid)
        trial = read_trial(run, path, tid)
        trial.status = old.status if old is not None else None
        run.trials[tid] = trial
        done.append(tid)
    if statuses is not None:
        for tid, trial in list(run.trials.items()):
            status = statuses.get(tid, trial.status)
            if tid not in done and (run.managers.get(tid) is not old_managers.get(tid)
                                    or status != old_statuses.get(tid, trial.status)
                                    or run.state_fresh != old_fresh):
                # What Ray registered changed: classify the trial's reports again (a new Trial
                # object, so plans made before keep what they saw)
                trial = run.trials[tid] = reapply_state(run, trial, status)
                done.append(tid)
            trial.status = status
    if done:
        # keep trials in name order, as a fresh read would
        run.trials = dict(sorted(run.trials.items()))
    return done


def read_trial(run: Run, path: str, trial_id: str) -> Trial:
    path = _absolute(path)
    fs = storage_for(path)
    if not fs.local:  # one recursive listing of the trial: its files and checkpoints come from it
        try:
            fs.refresh(path)
        except OSError:
            pass  # the calls below say what is wrong
    trial = Trial(id=trial_id, path=path)
    if not is_utf8(trial_id):
        trial.warnings.append(f"{display_name(path)}: directory name is not UTF-8")
    params_path = os.path.join(path, PARAMS)
    params = read_json_file(params_path, trial, run, "params")
    if isinstance(params, dict):
        trial.params = params
    elif params is not None:
        trial.warnings.append(wrong_type(params_path, "the document", params, "an object", "params not shown"))
    _read_results(trial, os.path.join(path, RESULT))
    on_disk = checkpoint_dirs(path, CHECKPOINT_RE, run, trial)
    status = run.statuses.get(trial_id)
    trial.status = status
    manager = run.managers.get(trial_id)
    if manager is not None:
        # Keep what was read, so a new experiment state can be applied without reading again.
        trial.cache.read = (trial.reports, on_disk, list(trial.warnings))
        _apply_manager(run, trial, manager, on_disk, status)
        return trial

    # No checkpoint manager to go by: every reported checkpoint counts as registered.
    # Registration order is report order. A name reported twice: the later report wins.
    reports = trial.reports
    last_report = {r.checkpoint_name: r for r in reports}
    prefix = path + os.sep
    checkpoints = [
        Checkpoint(trial_id, name, prefix + name, None, None, r, on_disk[name])
        for r in reports
        if (name := r.checkpoint_name) in on_disk and last_report[name] is r
    ]
    reported = len(checkpoints)
    for name in sorted(n for n in on_disk if n not in last_report):
        checkpoints.append(Checkpoint(trial_id, name, prefix + name, None, None, None, on_disk[name]))
        trial.warnings.append(
            f"{display_name(prefix + name)}: no report in result.json names it (still being written, "
            "or not from Ray): listed, unscored, never deleted"
        )
    trial.checkpoints = checkpoints
    gone = len(last_report) - reported
    if gone > 0:
        trial.warnings.append(
            f"{display_name(os.path.join(path, RESULT))}: {gone} reported checkpoint"
            f"{'s are' if gone != 1 else ' is'} no longer on disk (removed by Ray's retention or "
            "by hand): kept in the score history, as Ray keeps them"
        )
    return trial


def reapply_state(run: Run, trial: Trial, status: Optional[str]) -> Trial:
    """``trial`` classified again under the run's (new) experiment state, as a new Trial; the
    result.json rows and the listing read before are reused."""
    read = trial.cache.read
    manager = run.managers.get(trial.id)
    if read is None and manager is None:
        trial.status = status
        return trial
    if read is None:  # read without a manager before: read again
        return read_trial(run, trial.path, trial.id)
    rows, on_disk, warnings = read
    fresh = Trial(id=trial.id, path=trial.path, status=status, params=trial.params, reports=rows,
                  warnings=list(warnings), report_count=trial.report_count)
    if manager is None:
        return read_trial(run, trial.path, trial.id)
    fresh.cache.read = read
    _apply_manager(run, fresh, manager, on_disk, status)
    return fresh


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
    stack: list[int] = []
    last_of_name: dict[str, int] = {}
    for i, r in enumerate(rows):
        x = _ckpt_index(r.checkpoint_name)
        if x is not None:
            while stack and _ckpt_index(rows[stack[-1]].checkpoint_name) >= x:
                unreg[stack.pop()] = True
            stack.append(i)
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
            if m.get("training_iteration") == rc.metrics.get("training_iteration") \
                    and m.get("timestamp") == rc.metrics.get("timestamp"):
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


def _read_results(trial: Trial, path: str) -> None:
    """Every report that carried a checkpoint, in order; warnings for what is malformed."""
    shown = display_name(path)
    try:
        data = storage_for(path).read_file(path)
    except FileNotFoundError:
        return
    except IsADirectoryError:
        trial.warnings.append(f"{shown}: is a directory, expected JSON lines")
        return
    except OSError as exc:
        trial.warnings.append(f"{shown}: cannot read: {exc.strerror or exc}")
        return
    lines = data.split(b"\n")
    together = _parse_together(data, lines)
    if together is not None:
        numbers, objects, skipped = together
        trial.report_count = skipped + len(objects)
        _add_reports(trial, numbers, objects, shown)
    else:
        _read_results_line_by_line(trial, shown, lines)
    first = min((i for i in map(data.find, _NONFINITE) if i >= 0), default=-1)
    if first >= 0:
        line_number = data.count(b"\n", 0, first) + 1
        trial.warnings.append(
            f"{shown} line {line_number}: NaN/Infinity literal (not standard JSON; the first of "
            "the file): read as Ray reads it"
        )


def _add_reports(trial: Trial, numbers: list[int], objects: list[dict], shown: str = RESULT) -> None:
    """Append a Report for each parsed result line that names a checkpoint. A field of the
    wrong type is a warning (the first such line, and how many): the rest is read."""
    reports = trial.reports
    bad_name: list[tuple[int, object]] = []
    bad_iteration: list[tuple[int, object]] = []
    for number, obj in zip(numbers, objects):
        name = obj.get("checkpoint_dir_name")
        if type(name) is not str or not name:
            if name is not None and name != "":
                bad_name.append((number, name))
            continue
        iteration = obj.get("training_iteration")
        if type(iteration) is not int and iteration is not None:
            bad_iteration.append((number, iteration))
        reports.append(Report(len(reports), name, obj,
                              iteration if type(iteration) is int else None, number))
    for bad, field, expected, then in ((bad_name, "checkpoint_dir_name", "a string or null", "report skipped"),
                                       (bad_iteration, "training_iteration", "an int", "read as unknown")):
        if bad:
            number, value = bad[0]
            more = f" (and {len(bad) - 1} more line{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
            trial.warnings.append(wrong_type(f"{shown} line {number}", field, value, expected, then) + more)


def _read_results_line_by_line(trial: Trial, shown: str, lines: list[bytes]) -> None:
    """The exact, slower path for a file that may hold malformed lines: each line on its own,
    a warning (with its line number) for each one that cannot be read."""
    truncated = bool(lines) and lines[-1].strip() != b""
    last = len(lines) - 1
    numbers: list[int] = []
    objects: list[dict] = []
    count = 0
    for number, raw in enumerate(lines, 1):
        if _NULL_CHECKPOINT in raw:
            count += 1  # a report without a checkpoint: Ray never registers it
            continue
        line = raw.strip()
        if not line:
            if number <= last:
                trial.warnings.append(f"{shown} line {number}: blank line")
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            if number == last + 1 and truncated:
                trial.warnings.append(
                    f"{shown} line {number}: incomplete last line (a report being written?): skipped"
                )
            else:
                trial.warnings.append(f"{shown} line {number}: not valid JSON ({_reason(exc)}): skipped")
            continue
        if not isinstance(obj, dict):
            trial.warnings.append(
                f"{shown} line {number}: a JSON {type(obj).__name__}, not an object: skipped"
            )
            continue
        count += 1
        numbers.append(number)
        objects.append(obj)
    trial.report_count = count
    _add_reports(trial, numbers, objects, shown)


# A top-level boundary between two JSON objects: "}", optional whitespace, ",", "{".
_OBJECT_BOUNDARY = re.compile(rb"}\s*,\s*{")


def _parse_together(data: bytes, lines: list) -> Optional[tuple[list[int], list[dict], int]]:
    """The lines that need parsing (neither blank nor a null-checkpoint report), parsed in ONE
    ``json.loads`` call as a JSON array: (their line numbers, the objects, the count of
    null-checkpoint reports skipped). None when that might not equal parsing them one by one,
    and then the caller does exactly that.

    One call instead of one per line is faster, and json's key memo is shared across the call,
    so the 100 reports of a trial share one string per metric key instead of 100 copies (about
    half the memory of the parsed reports). It is exact: every line starts with "{" and ends
    with "}", and no "}" ws "," ws "{" occurs anywhere in the file, so the only possible
    boundaries between array elements are the commas inserted between lines; N dicts from N
    lines then means element i is line i, parsed as it would be on its own. Anything else (a
    truncated or malformed line, a blank line inside the file, a non-object, undecodable bytes,
    deep nesting) returns None.
    """
    if _OBJECT_BOUNDARY.search(data) is not None:
        return None
    if _NULL_CHECKPOINT not in data and data[-1:] == b"\n":
        # Every line is a report to keep: check the shape of the whole file with C-level
        # searches instead of a loop over lines. A raw newline cannot occur inside a JSON
        # string, so "}\n{" occurs exactly between lines.
        body = data[:-1]
        if b"\r" in body or b"\n\n" in body or body[:1] != b"{" or body[-1:] != b"}":
            return _parse_line_list(lines)
        count = body.count(b"\n") + 1
        if body.count(b"}\n{") != count - 1:
            return _parse_line_list(lines)
        try:
            parsed = json.loads(b"[" + body.replace(b"}\n{", b"},{") + b"]")
        except (ValueError, RecursionError):
            return None
        if len(parsed) != count or any(type(obj) is not dict for obj in parsed):
            return None
        return list(range(1, count + 1)), parsed, 0
    return _parse_line_list(lines)


def _parse_line_list(lines: list) -> Optional[tuple[list[int], list[dict], int]]:
    """_parse_together for a file with null-checkpoint reports (skipped unparsed) or odd spacing."""
    todo = []
    numbers = []
    skipped = 0
    last = len(lines)
    for number, raw in enumerate(lines, 1):
        if _NULL_CHECKPOINT in raw:
            skipped += 1
            continue
        line = raw.strip()
        if not line:
            if number < last:
                return None  # a blank line inside the file: the exact path warns about it
            continue
        if line[:1] != b"{" or line[-1:] != b"}":
            return None
        todo.append(line)
        numbers.append(number)
    if not todo:
        return None
    try:
        parsed = json.loads(b"[" + b",".join(todo) + b"]")
    except (ValueError, RecursionError):
        return None
    if len(parsed) != len(todo) or any(type(obj) is not dict for obj in parsed):
        return None
    return numbers, parsed, skipped


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
        out.warnings.append(wrong_type(path, "the document", state, "an object",
                                       "trial status and the run's CheckpointConfig are unknown"))
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
                "their trials' status unknown")
        runner = state.get("runner_data")
        if runner is not None and not isinstance(runner, dict):
            out.warnings.append(wrong_type(path, "runner_data", runner, "an object",
                                           "the run's CheckpointConfig is unknown"))
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
