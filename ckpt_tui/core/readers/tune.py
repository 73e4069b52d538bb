"""Ray Tune's layout: trial dirs with ``checkpoint_NNNNNN/`` and ``result.json`` (JSON lines)."""

from __future__ import annotations

import json
import os
import re
from typing import Optional

from ckpt_tui.core.disk import display_name, is_utf8
from ckpt_tui.core.model import TUNE, TUNE_TRIAL, Checkpoint, Report, Run, Trial, is_aside
from ckpt_tui.core.ray_names import PARAMS, RESULT, TUNE_CHECKPOINT_INDEX_RE, TUNE_CHECKPOINT_RE
from ckpt_tui.core.readers.common import _absolute, checkpoint_dirs, note_leftover, read_json_file, wrong_type
from ckpt_tui.core.readers.tune_state import (
    LIVE_SECONDS,
    RUNNING,
    ExperimentState,
    _apply_manager,
    _read_experiment_state,
    _reason,
    read_experiment_state,
    read_experiment_state_file,
)
from ckpt_tui.core.storage import storage_for

CHECKPOINT_RE = TUNE_CHECKPOINT_RE
_NULL_CHECKPOINT = b'"checkpoint_dir_name": null'
_NONFINITE = (b"NaN", b"Infinity")
_INDEX_RE = TUNE_CHECKPOINT_INDEX_RE
PREFETCH_AHEAD = 32  # trials listed ahead of the reader on an object store (core/storage)


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
            fs.prefetch(ahead[done + PREFETCH_AHEAD - 1 : done + PREFETCH_AHEAD])
        trial = read_trial(run, entry.path, entry.name)
        if not (trial.checkpoints or trial.report_count or trial.params) and not looks_like_trial(entry.path):
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
            if (
                name not in run.trials
                and not name.startswith(".")
                and storage_for(path).isdir(path)
                and looks_like_trial(path)
            ):
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
            if tid not in done and (
                run.managers.get(tid) is not old_managers.get(tid)
                or status != old_statuses.get(tid, trial.status)
                or run.state_fresh != old_fresh
            ):
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
    fresh = Trial(
        id=trial.id,
        path=trial.path,
        status=status,
        params=trial.params,
        reports=rows,
        warnings=list(warnings),
        report_count=trial.report_count,
    )
    if manager is None:
        return read_trial(run, trial.path, trial.id)
    fresh.cache.read = read
    _apply_manager(run, fresh, manager, on_disk, status)
    return fresh


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
        reports.append(Report(len(reports), name, obj, iteration if type(iteration) is int else None, number))
    for bad, field, expected, then in (
        (bad_name, "checkpoint_dir_name", "a string or null", "report skipped"),
        (bad_iteration, "training_iteration", "an int", "read as unknown"),
    ):
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
                trial.warnings.append(f"{shown} line {number}: incomplete last line (a report being written?): skipped")
            else:
                trial.warnings.append(f"{shown} line {number}: not valid JSON ({_reason(exc)}): skipped")
            continue
        if not isinstance(obj, dict):
            trial.warnings.append(f"{shown} line {number}: a JSON {type(obj).__name__}, not an object: skipped")
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


__all__ = [  # the experiment state's names live in tune_state.py; callers import them from here too
    "LIVE_SECONDS",
    "RUNNING",
    "ExperimentState",
    "read_experiment_state",
    "read_experiment_state_file",
    "looks_like_trial",
    "read_experiment",
    "iter_experiment",
    "read_single_trial",
    "reread",
    "read_trial",
    "reapply_state",
    "CHECKPOINT_RE",
    "RESULT",
    "PARAMS",
]
