"""The per-checkpoint re-checks before a deletion: refusals, fresh reads, restore points, Train v2
activity, mount points, and whether ckpt-tui's own state may be written."""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterable
from typing import Any, Optional

from ckpt_tui.core.deletion.fingerprint import Fingerprint, fingerprint
from ckpt_tui.core.deletion.records import Item, Request, _Skip
from ckpt_tui.core.disk import SETTLED_NS, display_name
from ckpt_tui.core.model import TRAIN_V2, TUNE, TUNE_TRIAL, Checkpoint, Run, Trial
from ckpt_tui.core.ray_names import SNAPSHOT, newest_experiment_state
from ckpt_tui.core.storage import is_url, storage_for

# What the plan deletes but a deletion never would

NEWEST_ON_DISK = (
    "newest checkpoint of its trial still on disk (the newer ones are gone): never deleted, "
    "so the trial keeps one to restore from"
)
RESTORE_POINT = "the checkpoint Tune would restore this trial from (experiment_state): kept"


def refusals(plan, checkpoints: Optional[Iterable[Checkpoint]] = None) -> dict[Checkpoint, str]:
    """The checkpoints the plan deletes (or ``checkpoints``) that a deletion would leave alone
    whatever the plan says, with the reason ``execute`` would give: the newest checkpoint of a
    trial still on disk (when the plan keeps only ones already gone), the checkpoint Tune
    restores a trial from, a checkpoint that resolves outside the run. ``--json`` and
    ``--dry-run`` show these as kept, so they say what the prune will really do."""
    run = plan.run
    todo = plan.to_delete() if checkpoints is None else list(checkpoints)
    if not todo:
        return {}
    fs = storage_for(run.root)
    root = fs.realpath(run.root)
    points: dict = {}
    if run.layout in (TUNE, TUNE_TRIAL):
        directory = root if run.layout == TUNE else os.path.dirname(root)
        try:
            newest = newest_experiment_state(fs.listdir(directory))
        except OSError:
            newest = None
        if newest is not None:
            points = read_tune_state(os.path.join(directory, newest), only={c.trial_id for c in todo})[1]
    out: dict[Checkpoint, str] = {}
    per_trial: dict[str, tuple] = {}  # trial id -> (newest reported checkpoint, outside reason)
    for ckpt in todo:
        tid = ckpt.trial_id
        known = per_trial.get(tid)
        if known is None:
            trial = plan.trials.get(tid)
            reported = [c for c in (trial.checkpoints if trial is not None else ()) if c.report is not None]
            newest = max(reported, key=lambda c: c.report.index) if reported else None
            # A trial's checkpoints are all directly in its directory: resolve it once.
            real_parent = fs.realpath(os.path.dirname(ckpt.path))
            outside = (
                None
                if _inside(real_parent, root)
                else f"resolves outside the run directory ({display_name(real_parent)}): never deleted"
            )
            known = per_trial[tid] = (newest, outside)
        if ckpt is known[0]:
            out[ckpt] = NEWEST_ON_DISK
        elif points.get(tid) == ckpt.name:
            out[ckpt] = RESTORE_POINT
        elif known[1] is not None:
            out[ckpt] = known[1]
    return out


def _newest_on_disk(trial: Trial, ckpt: Checkpoint) -> bool:
    """Whether ``ckpt`` is the newest reported checkpoint of ``trial`` still on disk (listed
    now, not as the trial was read: others may have gone since)."""
    if ckpt.report is None:
        return False
    parent = os.path.dirname(ckpt.path)
    try:
        fs = storage_for(parent)
        if not fs.local:
            fs.forget(parent)  # listed now, not as an earlier read of this trial cached it
        names = set(fs.listdir(parent))
    except OSError:
        return True  # cannot tell: leave it
    index = ckpt.report.index
    for report in reversed(trial.reports):
        if report.index <= index:
            return True
        if report.checkpoint_name in names:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Fresh reads of a trial, under the request's config


class _Context:
    # Set by core/deletion_remote.py's execute (an object store's run) only.
    journal: Any
    snapshot_backup: Optional[str]
    own_snapshot_etag: Optional[str]

    def __init__(self, request: Request, log_path: str):
        self.request = request
        self.log_path = log_path
        self.snapshot_backed_up = False
        self.own_snapshot: Optional[tuple] = None  # (ino, mtime_ns) of the snapshot we last wrote
        self.foreign_snapshot_mtime: Optional[float] = None  # its mtime before we first wrote it
        self._state_cache: dict = {}
        self._state_files: dict = {}  # directory -> (mtime_ns, listed_at_ns, newest state file)
        self._fresh: dict = {}  # trial id -> (signature, Trial, Plan, checkpoints by name)

    # --- fresh reads -----------------------------------------------------------------------
    def fresh_trial(self, trial_id: str) -> tuple[Run, Optional[Trial]]:
        """A Run holding only this trial, read from disk now (statuses included)."""
        from ckpt_tui.core.readers import train_v2, tune

        req = self.request
        root = req.root
        if req.layout == TRAIN_V2:
            run = train_v2.read(root)
            return run, run.trials.get(trial_id)
        if req.layout == TUNE_TRIAL:
            run = tune.read_single_trial(root)
            trial = run.trials.get(trial_id)
            return run, trial
        run = Run(root=root, layout=TUNE)
        path = os.path.join(root, trial_id)
        if trial_id.startswith(".") or not storage_for(path).isdir(path):
            return run, None
        # What Ray registered (each trial's checkpoint manager) and the restore points, from
        # the newest experiment state: parsed once per version of that file
        run.statuses = tune._read_experiment_state(run, quiet=True)
        trial = tune.read_trial(run, path, trial_id)
        statuses, _ = self.tune_state(root)
        trial.status = statuses.get(trial_id)
        run.trials[trial_id] = trial
        return run, trial

    def fresh_plan(self, trial_id: str):
        """(Trial or None, Plan or None, its checkpoints by name): the trial read from disk and
        planned, as ``fresh_trial`` and ``plan`` give them, reused while nothing a decision depends on has
        changed: the trial dir (same inode), its result.json (size, mtime, ctime, inode) and
        the experiment state (statuses, restore points). Which checkpoint dirs exist does not
        enter a decision (ranks count the history), so deleting 96 checkpoints of a trial
        reads it once, not 96 times. Train v2 rewrites its snapshot at each deletion: read
        afresh every time."""
        from ckpt_tui.core.retention import plan

        req = self.request
        key = self._fresh_signature(trial_id)
        cached = self._fresh.get(trial_id)
        if key is not None and cached is not None and cached[0] == key:
            return cached[1:]
        run, trial = self.fresh_trial(trial_id)
        fresh_plan = (
            plan(run, req.config, pinned=req.pinned, delete_untracked=req.delete_untracked)
            if trial is not None
            else None
        )
        by_name = {c.name: c for c in trial.checkpoints} if trial is not None else {}
        if key is not None:
            if len(self._fresh) >= 4:  # items come trial by trial: a few trials' worth is enough
                self._fresh.clear()
            self._fresh[trial_id] = (key, trial, fresh_plan, by_name)
        return trial, fresh_plan, by_name

    def _fresh_signature(self, trial_id: str) -> Optional[tuple]:
        from ckpt_tui.core.readers import tune

        req = self.request
        if req.layout == TUNE:
            trial_dir, state_dir = os.path.join(req.root, trial_id), req.root
        elif req.layout == TUNE_TRIAL:
            trial_dir, state_dir = req.root, os.path.dirname(req.root)
        else:
            return None
        try:
            d = os.stat(trial_dir)
            r = os.stat(os.path.join(trial_dir, tune.RESULT))
        except OSError:
            return None  # read afresh, and let the reader say what is wrong
        state = self._state_file(state_dir)
        try:
            st = os.stat(state) if state is not None else None
        except OSError:
            return None
        return (
            (d.st_dev, d.st_ino),
            (r.st_size, r.st_mtime_ns, r.st_ctime_ns, r.st_ino),
            state,
            None if st is None else (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino),
        )

    def _state_file(self, directory: str) -> Optional[str]:
        """The newest experiment_state-*.json in ``directory``. The listing (1,000 entries in a
        big run's root) is reused while the directory's mtime is unchanged and was already
        SETTLED_NS old when we listed it (see core/disk.py). An object store: listed now."""
        if is_url(directory):
            fs = storage_for(directory)
            fs.forget_listing(directory)
            try:
                name = newest_experiment_state(fs.listdir(directory))
            except OSError:
                return None
            return os.path.join(directory, name) if name is not None else None
        try:
            mtime_ns = os.stat(directory).st_mtime_ns
        except OSError:
            return None
        cached = self._state_files.get(directory)
        if cached is not None and cached[0] == mtime_ns and cached[1] - mtime_ns > SETTLED_NS:
            return cached[2]
        listed_at = time.time_ns()
        try:
            name = newest_experiment_state(os.listdir(directory))
        except OSError:
            name = None
        newest = os.path.join(directory, name) if name is not None else None
        self._state_files[directory] = (mtime_ns, listed_at, newest)
        return newest

    def tune_state(self, directory: str) -> tuple[dict, dict]:
        """(status by trial dir, restore-from checkpoint name by trial dir) from the newest
        experiment_state-*.json, cached while that file is unchanged."""
        path = self._state_file(directory)
        if path is None:
            return {}, {}
        try:
            st = storage_for(path).stat(path)
        except OSError:
            return {}, {}
        key = (path, st.st_mtime_ns, st.st_size, st.st_ino, getattr(st, "etag", None))
        cached = self._state_cache.get(directory)
        if cached is not None and cached[0] == key:
            return cached[1]
        value = read_tune_state(path)
        self._state_cache[directory] = (key, value)
        return value

    def restore_point(self, trial: Trial) -> Optional[str]:
        req = self.request
        if req.layout == TUNE:
            _, points = self.tune_state(req.root)
        elif req.layout == TUNE_TRIAL:
            _, points = self.tune_state(os.path.dirname(req.root))
        else:
            return None
        return points.get(trial.id)


def read_tune_state(path: str, only: Optional[set] = None) -> tuple[dict, dict]:
    """Statuses and restore points (trial dir -> the checkpoint name Tune restores it from) from
    a Tune experiment state file, through the reader's parser (core/readers/tune.py: the one
    parser of that format, cached per version of the file). Never raises; never unpickles.
    ``only``: kept for callers; the reader parses every manager once per version anyway."""
    from ckpt_tui.core.readers.tune import read_experiment_state_file

    try:
        state = read_experiment_state_file(path)
    except Exception:  # noqa: BLE001 - a malformed file protects nothing extra; the latest rule still holds
        return {}, {}
    points = {
        rel: manager.latest.name
        for rel, manager in state.managers.items()
        if manager.latest is not None and manager.latest.name
    }
    return dict(state.statuses), points


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _check_v2_idle(ctx: _Context, trial: Trial, now: float, grace: float) -> None:
    """Train v2 writes no status to disk: treat the run as running while its snapshot (as Ray
    last wrote it: our own rewrites do not count) or any checkpoint directory is younger than
    the grace period."""
    newest = 0.0
    try:
        st = os.stat(os.path.join(ctx.request.root, SNAPSHOT))
        if ctx.own_snapshot == (st.st_ino, st.st_mtime_ns) and ctx.foreign_snapshot_mtime is not None:
            newest = ctx.foreign_snapshot_mtime
        else:
            newest = st.st_mtime
    except OSError:
        pass
    for ckpt in trial.checkpoints:
        mtime = ckpt.mtime  # None when the fresh read skipped sizes: ask the directory itself
        if mtime is None:
            try:
                mtime = os.lstat(ckpt.path).st_mtime
            except OSError:
                continue
        newest = max(newest, mtime)
    age = now - newest
    if age < grace:
        raise _Skip(
            f"the run looks active (last write {age:.0f} s ago, grace {grace:g} s): Train v2 "
            "records no status, and rewriting its checkpoint_manager_snapshot.json while it "
            "runs could leave a run Ray cannot restore; stop the run or wait"
        )


# ---------------------------------------------------------------------------------------------
# Mount points

_MOUNTINFO = "/proc/self/mountinfo"
_OCTAL = re.compile(rb"\\([0-7]{3})")


def _mount_table() -> list[bytes]:
    """Every mount point of this process (paths as bytes); empty where there is no table."""
    try:
        with open(_MOUNTINFO, "rb") as f:
            data = f.read()
    except OSError:
        return []
    out = []
    for line in data.split(b"\n"):
        fields = line.split(b" ")
        if len(fields) > 4:
            out.append(_OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), fields[4]))
    return out


def mount_points_in(path: str, fp: Optional[Fingerprint] = None, real: Optional[str] = None) -> list[str]:
    """Mount points at or below ``path``: directories on another device (from the fingerprint,
    or a walk) and what the mount table lists (a bind mount of the same filesystem shares its
    device number). Links are not followed, so a symlinked checkpoint has none."""
    found: list[str] = []
    fp = fp if fp is not None else fingerprint(path)
    if fp.root and fp.root[2] == "l":
        return []
    found.extend(os.path.join(path, rel) for rel in fp.mounts)
    real_b = os.fsencode(real if real is not None else os.path.realpath(path)).rstrip(b"/")
    for mp in _mount_table():
        if mp == real_b or mp.startswith(real_b + b"/"):
            shown = os.path.join(path, os.fsdecode(mp[len(real_b) + 1 :])) if mp != real_b else path
            if shown not in found:
                found.append(shown)
    return found


def state_problem(log_path: str) -> Optional[str]:
    """Why ckpt-tui must not write its state (the log's directory, normally RUN/.ckpt-tui, and
    the log itself) as they are now: a symlink, a hard link, not a directory or regular file.
    None when all is well (or absent: it is created). Checked before any deletion; the writes
    themselves refuse links too, so a link planted after this check is not followed either."""
    if is_url(log_path):
        return None
    directory = os.path.dirname(log_path)
    for path, want_dir in ((directory, True), (log_path, False)):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"cannot check {display_name(path)}: {exc.strerror or exc}"
        if stat.S_ISLNK(st.st_mode):
            what = "a symlink"
        elif want_dir and not stat.S_ISDIR(st.st_mode):
            what = "not a directory"
        elif not want_dir and not stat.S_ISREG(st.st_mode):
            what = "not a regular file"
        elif not want_dir and st.st_nlink != 1:
            what = "a hard link"
        else:
            continue
        return (
            f"{display_name(path)} is {what}: ckpt-tui keeps its deletion log and snapshot backups there "
            "and writes nothing through it; remove it, then prune again"
        )
    return None


def still_deleted_by_a_fresh_plan(ctx: _Context, item: Item) -> Trial:
    """The plan-level re-checks of every deletion, local or on an object store: a fresh read and
    a fresh plan still delete it; it is not its trial's latest (nor the newest it reported), not
    the checkpoint Tune restores this or any trial from, not the newest still on disk. Raises
    _Skip with the reason; returns the freshly read trial."""
    trial, fresh_plan, by_name = ctx.fresh_plan(item.trial_id)
    if trial is None:
        raise _Skip("its trial is no longer on disk")
    fresh = by_name.get(item.name)  # the item's path is its trial dir + its name
    if fresh is None:
        raise _Skip("no longer listed as a checkpoint of its trial")
    decision = fresh_plan.decisions.get(fresh)
    if decision is None:
        raise _Skip("no longer planned (not found in a fresh plan)")
    if decision.keep:
        raise _Skip(f"a fresh read keeps it now: {fresh_plan.reason(fresh)}")
    if trial.reports and trial.reports[-1].checkpoint_name == item.name:
        raise _Skip("latest checkpoint of its trial: Ray never deletes it")
    if (
        trial.unregistered
        and trial.unregistered[-1].checkpoint_name == item.name
        and (not trial.reports or (trial.reports[-1].line or 0) < (trial.unregistered[-1].line or 0))
    ):
        raise _Skip("the newest checkpoint its trial reported: kept")
    restore = ctx.restore_point(trial)
    if restore == item.name:
        raise _Skip(RESTORE_POINT)
    borrowers = fresh_plan.restore.get(fresh.path) if hasattr(fresh_plan, "restore") else None
    if borrowers:
        raise _Skip(f"the checkpoint Tune would restore trial {', '.join(borrowers)} from (experiment_state): kept")
    if _newest_on_disk(trial, fresh):
        raise _Skip(NEWEST_ON_DISK)
    return trial
