"""Safe deletion of the checkpoints a plan marked: nothing else, ever.

The flow is two steps so that a person can confirm in between:

    request = prepare(plan)            # fingerprints every checkpoint as it is now
    for outcome in execute(request):   # re-checks each one against a fresh read, then deletes
        ...

Right before a checkpoint is deleted, ``execute`` re-reads its trial from disk and re-plans it
under the request's config (same pinned set), then checks, in order:

0. ckpt-tui's own state (``<run>/.ckpt-tui/`` and the log) is no link (``state_problem``):
   otherwise every item is refused with that one reason;
1. it still exists;
2. it resolves inside the run directory (a symlinked checkpoint: its link does; the target is
   never touched, the link is unlinked);
3. the fresh plan still marks it for deletion, and it is not the latest checkpoint of its trial
   (nor, for Tune, the checkpoint ``experiment_state`` says the trial restores from, nor the
   newest checkpoint its trial still has on disk);
4. no mount point is inside it (another device, or a bind mount the mount table lists);
5. nothing in it changed since ``prepare`` (file list, sizes, mtimes, inodes): otherwise
   "changed since you confirmed";
6. its trial is not RUNNING with the checkpoint younger than the grace period (Train v2 keeps no
   status on disk: the run counts as active while its snapshot or a checkpoint is that young).

``refusals(plan)`` names, ahead of time, what the plan deletes but 2-3 would refuse, so
``--json`` and ``--dry-run`` show it as kept.

Then it renames the checkpoint aside in the same directory (``ASIDE_PREFIX`` + name + pid +
time), checks the renamed tree is still the one fingerprinted, and removes it with a walk that
never follows a symlink (directory fds, ``O_NOFOLLOW``, ``unlink``/``rmdir`` relative to the
parent fd, never entering another ``st_dev``). An interruption leaves either the whole checkpoint under its name or an aside
directory that readers skip and record in ``run.leftovers``; ``find_leftovers`` and
``clean_leftovers`` finish the job later.

Train v2: Ray refuses to restore a run whose ``checkpoint_manager_snapshot.json`` lists a
checkpoint that is missing. Before a Train v2 checkpoint is moved aside, the snapshot is
rewritten without it (a backup of the original goes to ``<run>/.ckpt-tui/``; the new file is
written to a temporary file created ``O_EXCL | O_NOFOLLOW`` under a random name, fsynced, and
``os.replace``d over the old one, relative to a directory fd opened without following links;
it keeps the mtime Ray gave it, so our rewrite never looks like activity). A crash after the
rewrite leaves the checkpoint whole on disk but unlisted, which Ray ignores on restore. If the
checkpoint cannot be moved aside, the original snapshot is put back.

Every deletion is recorded as one JSON line in ``<run>/.ckpt-tui/deletions.jsonl``.
Stdlib only.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Iterator, Optional

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.disk import SETTLED_NS, display_name, read_regular_file
from ckpt_tui.core.model import (ASIDE_PREFIX, TMP_MARK, TRAIN_V2, TUNE, TUNE_TRIAL, Checkpoint, Run, Trial, is_aside,
                                 is_leftover)

STATE_DIR = ".ckpt-tui"  # hidden: Ray's scans look for checkpoint_* / experiment_state-*.json
LOG_NAME = "deletions.jsonl"
from ckpt_tui.core.ray_names import SNAPSHOT, newest_experiment_state  # noqa: E402  (one module of Ray's names)
from ckpt_tui.core.storage import is_url, storage_for  # noqa: E402

CHANGED = "changed since you confirmed"

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Fingerprint:
    """What a checkpoint is on disk: its own inode, and every entry below it (not following
    links): relative path, type, size, mtime (ns), inode, link target."""

    root: tuple  # (dev, ino, type, link target or None)
    entries: tuple  # sorted ((relpath, type, size, mtime_ns, ino, link target), ...)
    bytes: int  # regular-file bytes (0 for a symlinked checkpoint)
    newest_mtime: float  # seconds; the newest of the root and every entry
    error: Optional[str] = None  # could not be read fully: it cannot be verified, so not deleted
    mounts: tuple = ()  # relative paths of directories on another device (mount points): not entered

    def same_tree(self, other: "Fingerprint") -> bool:
        return self.error is None and other.error is None and self.root == other.root \
            and self.entries == other.entries

    def difference(self, other: "Fingerprint") -> str:
        """A short phrase saying what differs between self (then) and other (now)."""
        if other.error:
            return other.error
        if self.root != other.root:
            return "replaced by another directory or link"
        before = {e[0]: e for e in self.entries}
        after = {e[0]: e for e in other.entries}
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
        parts = []
        if added:
            parts.append(f"{len(added)} added ({display_name(added[0])}{', ...' if len(added) > 1 else ''})")
        if removed:
            parts.append(f"{len(removed)} removed ({display_name(removed[0])}{', ...' if len(removed) > 1 else ''})")
        if changed:
            parts.append(f"{len(changed)} rewritten ({display_name(changed[0])}{', ...' if len(changed) > 1 else ''})")
        return "; ".join(parts) or "metadata changed"


@dataclass
class Item:
    checkpoint: Checkpoint
    path: str
    trial_id: str
    name: str
    bytes: int
    reason: str  # why the plan deletes it
    fingerprint: Fingerprint
    stale: Optional[str] = None  # already different from what the plan showed, at prepare time

    @property
    def is_symlink(self) -> bool:
        return self.fingerprint.root[2] == "l"


@dataclass
class Request:
    """What the user confirms: the items, fingerprinted at prepare time, and how to re-check."""

    root: str  # the run root, realpath
    layout: str
    config: CheckpointConfig
    pinned: frozenset
    grace_seconds: float
    items: list[Item] = field(default_factory=list)
    delete_untracked: bool = False  # the plan also deletes checkpoints Ray does not track
    created: float = field(default_factory=time.time)

    @property
    def total_bytes(self) -> int:
        return sum(i.bytes for i in self.items)

    @property
    def trials(self) -> list[str]:
        seen: dict[str, None] = {}
        for item in self.items:
            seen.setdefault(item.trial_id, None)
        return list(seen)

    @property
    def log_path(self) -> str:
        return default_log_path(self.root)


@dataclass
class Outcome:
    path: str
    trial_id: str
    name: str
    deleted: bool
    reason: str  # deleted: the plan's reason; skipped/failed: why
    bytes: int  # bytes freed (0 unless deleted)
    aside: Optional[str] = None  # set when what is left sits aside, to be cleaned up later


class _Skip(Exception):
    """This item is left alone, for the reason given."""


def default_log_path(root: str) -> str:
    if is_url(root):  # an object store: the local journal (objects cannot be appended to)
        from ckpt_tui.core.deletion_remote import local_journal_path

        return local_journal_path(root)
    return os.path.join(root, STATE_DIR, LOG_NAME)


# ---------------------------------------------------------------------------------------------
# Fingerprints


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "l"
    if stat.S_ISDIR(mode):
        return "d"
    if stat.S_ISREG(mode):
        return "f"
    return "o"


def fingerprint(path: str) -> Fingerprint:
    """Fingerprint ``path`` without following any symlink. Never raises."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Fingerprint((), (), 0, 0.0, "no longer on disk")
    except OSError as exc:
        return Fingerprint((), (), 0, 0.0, f"cannot stat: {exc.strerror or exc}")
    kind = _kind(st.st_mode)
    target = None
    if kind == "l":
        try:
            target = os.readlink(path)
        except OSError as exc:
            return Fingerprint((), (), 0, 0.0, f"cannot read link: {exc.strerror or exc}")
    root = (st.st_dev, st.st_ino, kind, target)
    if kind != "d":
        size = st.st_size if kind == "f" else 0
        return Fingerprint(root, (), size, st.st_mtime)
    entries = []
    mounts: list[str] = []
    total = 0
    newest = st.st_mtime
    error = None
    stack = [("", path)]
    while stack:
        rel, current = stack.pop()
        try:
            with os.scandir(current) as it:
                listing = list(it)
        except OSError as exc:
            error = f"cannot list {display_name(rel or '.')}: {exc.strerror or exc}"
            break
        for entry in listing:
            erel = f"{rel}/{entry.name}" if rel else entry.name
            try:
                est = entry.stat(follow_symlinks=False)
                ekind = _kind(est.st_mode)
                etarget = os.readlink(entry.path) if ekind == "l" else None
            except OSError as exc:
                error = f"cannot read {display_name(erel)}: {exc.strerror or exc}"
                break
            size = est.st_size if ekind == "f" else 0
            total += size
            newest = max(newest, est.st_mtime)
            entries.append((erel, ekind, size, est.st_mtime_ns, est.st_ino, etarget))
            if ekind == "d":
                if est.st_dev != st.st_dev:
                    mounts.append(erel)  # another filesystem: never entered, never touched
                else:
                    stack.append((erel, entry.path))
        if error:
            break
    entries.sort()
    return Fingerprint(root, tuple(entries), total, newest, error, tuple(sorted(mounts)))


# ---------------------------------------------------------------------------------------------
# prepare


def prepare(plan, checkpoints: Optional[Iterable[Checkpoint]] = None, grace_seconds: float = 60.0,
            pinned: Iterable[str] = ()) -> Request:
    """Fingerprint what is about to be confirmed. ``checkpoints=None``: ``plan.to_delete()``.

    Raises ValueError when asked to delete a checkpoint the plan does not mark for deletion.
    An object store's run goes to core/deletion_remote.py (the same rules where they can hold).
    """
    if is_url(plan.run.root):
        from ckpt_tui.core import deletion_remote

        return deletion_remote.prepare(plan, checkpoints, grace_seconds, pinned)
    run = plan.run
    chosen = plan.to_delete() if checkpoints is None else list(checkpoints)
    pinned_set = set(plan.pinned)  # the pins the plan was made with
    pinned_set.update(pinned)
    request = Request(root=os.path.realpath(run.root), layout=run.layout, config=plan.config,
                      pinned=frozenset(pinned_set), grace_seconds=float(grace_seconds),
                      delete_untracked=getattr(plan, "delete_untracked", False))
    seen = set()
    for ckpt in chosen:
        d = plan.decisions.get(ckpt)
        if d is None or d.keep:
            raise ValueError(f"{display_name(ckpt.path)}: the plan does not mark it for deletion")
        if ckpt.path in seen:
            continue
        seen.add(ckpt.path)
        fp = fingerprint(ckpt.path)
        stale = None
        if fp.error is None:
            # Compared as the reader measured it: the newest non-directory entry's mtime.
            files = [e for e in fp.entries if e[1] != "d"]
            newest_file = max((e[3] for e in files), default=None)
            if ckpt.is_symlink != (fp.root[2] == "l"):
                stale = "it became, or stopped being, a symlink"
            elif ckpt.file_count is not None and not ckpt.is_symlink and len(files) != ckpt.file_count:
                stale = f"{ckpt.file_count} files when the plan was read, {len(files)} now"
            elif not ckpt.is_symlink and ckpt.size_bytes is not None and fp.bytes != ckpt.size_bytes:
                stale = f"{ckpt.size_bytes} bytes when the plan was read, {fp.bytes} now"
            elif (not ckpt.is_symlink and ckpt.mtime is not None and newest_file is not None
                  and newest_file / 1e9 > ckpt.mtime + 1e-6):
                stale = "a file in it was written after the plan was read"
        request.items.append(Item(
            checkpoint=ckpt, path=ckpt.path, trial_id=ckpt.trial_id, name=ckpt.name,
            bytes=fp.bytes, reason=plan.reason(ckpt),
            fingerprint=fp, stale=stale,
        ))
    return request


# ---------------------------------------------------------------------------------------------
# What the plan deletes but a deletion never would

NEWEST_ON_DISK = ("newest checkpoint of its trial still on disk (the newer ones are gone): never deleted, "
                  "so the trial keeps one to restore from")
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
            outside = None if _inside(real_parent, root) else \
                f"resolves outside the run directory ({display_name(real_parent)}): never deleted"
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
# execute


def execute(request: Request, log_path: Optional[str] = None) -> Iterator[Outcome]:
    """Delete the request's items one by one, re-checking each against disk first.

    Yields one Outcome per item, in order. One item's failure never stops the rest and never
    raises. Stop iterating to stop deleting (the current item is finished first).
    """
    if is_url(request.root):
        from ckpt_tui.core import deletion_remote

        yield from deletion_remote.execute(request, log_path)
        return
    ctx = _Context(request, log_path or request.log_path)
    problem = state_problem(ctx.log_path)
    for item in request.items:
        if problem is not None:
            yield Outcome(item.path, item.trial_id, item.name, False, problem, 0)
            continue
        try:
            outcome = _delete_one(ctx, item)
        except _Skip as skip:
            outcome = Outcome(item.path, item.trial_id, item.name, False, str(skip), 0)
        except RecursionError:
            outcome = Outcome(item.path, item.trial_id, item.name, False,
                              "too deeply nested to check safely: left alone", 0)
        except Exception as exc:  # never let one item stop the rest
            outcome = Outcome(item.path, item.trial_id, item.name, False,
                              f"unexpected error: {type(exc).__name__}: {exc}", 0)
        yield outcome


class _Context:
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
        fresh_plan = plan(run, req.config, pinned=req.pinned,
                          delete_untracked=req.delete_untracked) if trial is not None else None
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
        return ((d.st_dev, d.st_ino), (r.st_size, r.st_mtime_ns, r.st_ctime_ns, r.st_ino),
                state, None if st is None else (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))

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
    except Exception:  # a malformed file protects nothing extra; the latest rule still holds
        return {}, {}
    points = {rel: manager.latest.name for rel, manager in state.managers.items()
              if manager.latest is not None and manager.latest.name}
    return dict(state.statuses), points


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _delete_one(ctx: _Context, item: Item) -> Outcome:
    req = ctx.request
    path = item.path
    # 1. exists
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise _Skip("no longer on disk (removed by someone else?)") from None
    except OSError as exc:
        raise _Skip(f"cannot stat it: {exc.strerror or exc}") from None

    # 2. inside the run, symlinks resolved (the run root itself included)
    if os.path.realpath(req.root) != req.root:
        raise _Skip("the run directory now resolves elsewhere (replaced by a link?)")
    parent = os.path.dirname(path)
    parent_real = os.path.realpath(parent)
    if not _inside(parent_real, req.root):
        raise _Skip(f"resolves outside the run directory ({display_name(parent_real)})")
    if not stat.S_ISLNK(st.st_mode):
        real = os.path.realpath(path)
        if not _inside(real, req.root) or real == req.root:
            raise _Skip(f"resolves outside the run directory ({display_name(real)})")

    # 3. a fresh read and a fresh plan still delete it; not the latest; not Tune's restore point
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
    if trial.unregistered and trial.unregistered[-1].checkpoint_name == item.name \
            and (not trial.reports or (trial.reports[-1].line or 0) < (trial.unregistered[-1].line or 0)):
        raise _Skip("the newest checkpoint its trial reported: kept")
    restore = ctx.restore_point(trial)
    if restore == item.name:
        raise _Skip(RESTORE_POINT)
    borrowers = fresh_plan.restore.get(fresh.path) if hasattr(fresh_plan, "restore") else None
    if borrowers:
        raise _Skip(f"the checkpoint Tune would restore trial {', '.join(borrowers)} from (experiment_state): kept")
    if _newest_on_disk(trial, fresh):
        raise _Skip(NEWEST_ON_DISK)

    # 4. nothing in it is another filesystem: a mount point (another device, or a bind mount of
    # this one, which only the mount table shows) is never entered, so the checkpoint stays whole.
    now_fp = fingerprint(path)
    mounted = mount_points_in(path, now_fp, real=os.path.join(parent_real, item.name))
    if mounted:
        raise _Skip(f"{display_name(mounted[0])} is a mount point (another filesystem, or a bind mount) "
                    f"inside it{' (+%d more)' % (len(mounted) - 1) if len(mounted) > 1 else ''}: "
                    "nothing in this checkpoint is touched")

    # 5. unchanged since prepare
    if item.stale:
        raise _Skip(f"{CHANGED}: {item.stale}")
    if item.fingerprint.error:
        raise _Skip(f"could not be read fully when confirmed: {item.fingerprint.error}")
    if not item.fingerprint.same_tree(now_fp):
        raise _Skip(f"{CHANGED}: {item.fingerprint.difference(now_fp)}")

    # 6. a RUNNING trial's young checkpoint (Train v2: an active-looking run)
    now = time.time()
    grace = req.grace_seconds
    age = now - max(now_fp.newest_mtime, st.st_mtime)
    if trial.status == "RUNNING" and age < grace:
        raise _Skip(f"trial is RUNNING and the checkpoint is {age:.0f} s old (grace {grace:g} s)")
    if req.layout == TRAIN_V2:
        _check_v2_idle(ctx, trial, now, grace)

    # delete: (Train v2: snapshot first) -> rename aside -> remove
    snapshot_undo = None
    if req.layout == TRAIN_V2:
        snapshot_undo = _v2_drop_from_snapshot(ctx, item.name)
    aside = _aside_name(parent, item.name)
    try:
        os.rename(path, aside)
    except OSError as exc:
        _v2_undo(ctx, snapshot_undo)
        raise _Skip(f"could not move it aside: {exc.strerror or exc} (left whole)") from None

    # The tree under the aside name must be the one fingerprinted (nothing swapped in between).
    moved_fp = fingerprint(aside)
    if not item.fingerprint.same_tree(moved_fp):
        if _put_back(aside, path):
            _v2_undo(ctx, snapshot_undo)
            raise _Skip(f"{CHANGED} (while moving it aside: {item.fingerprint.difference(moved_fp)}); left whole")
        return Outcome(path, item.trial_id, item.name, False,
                       f"{CHANGED} while moving it aside, and its name is taken now: left whole at "
                       f"{display_name(aside)} (offered for cleanup)", 0, aside=aside)

    progress = _Progress()
    try:
        if item.is_symlink:
            os.unlink(aside)  # the link only; its target is never touched
        else:
            remove_tree(aside, progress)
    except OSError as exc:
        err = exc.strerror or str(exc)
        if progress.removed == 0 and _put_back(aside, path):
            _v2_undo(ctx, snapshot_undo)
            raise _Skip(f"could not delete: {err} (nothing removed, left whole)") from None
        _log(ctx, item, deleted=False, freed=progress.bytes, note=f"partly deleted: {err}", aside=aside)
        return Outcome(path, item.trial_id, item.name, False,
                       f"partly deleted ({err}); the rest is aside at {display_name(aside)}: "
                       "offered for cleanup on the next --prune", progress.bytes, aside=aside)
    note = _log(ctx, item, deleted=True, freed=item.bytes)
    reason = item.reason if note is None else f"{item.reason} ({note})"
    return Outcome(path, item.trial_id, item.name, True, reason, item.bytes)


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
        raise _Skip(f"the run looks active (last write {age:.0f} s ago, grace {grace:g} s): Train v2 "
                    "records no status, and rewriting its checkpoint_manager_snapshot.json while it "
                    "runs could leave a run Ray cannot restore; stop the run or wait")


def _aside_name(parent: str, name: str) -> str:
    base = os.path.join(parent, f"{ASIDE_PREFIX}{name}.{os.getpid()}.{time.time_ns()}")
    candidate = base
    n = 0
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _put_back(aside: str, path: str) -> bool:
    """Rename the aside back to its own name, if that name is still free."""
    if os.path.lexists(path):
        return False
    try:
        os.rename(aside, path)
        return True
    except OSError:
        return False


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
    found = []
    fp = fp if fp is not None else fingerprint(path)
    if fp.root and fp.root[2] == "l":
        return []
    found.extend(os.path.join(path, rel) for rel in fp.mounts)
    real_b = os.fsencode(real if real is not None else os.path.realpath(path)).rstrip(b"/")
    for mp in _mount_table():
        if mp == real_b or mp.startswith(real_b + b"/"):
            shown = os.path.join(path, os.fsdecode(mp[len(real_b) + 1:])) if mp != real_b else path
            if shown not in found:
                found.append(shown)
    return found


# ---------------------------------------------------------------------------------------------
# Removal that never follows a symlink


class _Progress:
    __slots__ = ("removed", "bytes", "foreign")

    def __init__(self):
        self.removed = 0
        self.bytes = 0
        self.foreign: list[str] = []  # directories on another device, left alone


def remove_tree(path: str, progress: Optional[_Progress] = None) -> int:
    """Remove ``path`` and everything under it without following any symlink: links are
    unlinked, their targets left alone. Works through directory fds (``O_NOFOLLOW``, ``*at``
    calls), so a directory swapped for a link mid-walk is not followed either. Returns the
    regular-file bytes removed; raises OSError on the first failure (what is left stays)."""
    progress = progress or _Progress()
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        progress.removed += 1
        progress.bytes += st.st_size if stat.S_ISREG(st.st_mode) else 0
        return progress.bytes
    parent, name = os.path.split(os.path.abspath(path))
    pfd = os.open(parent, _DIR_FLAGS)
    try:
        _remove_dir_at(pfd, name, st, progress)
    finally:
        os.close(pfd)
    return progress.bytes


def _remove_dir_at(pfd: int, name: str, st: os.stat_result, progress: _Progress) -> None:
    fd = os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=pfd)
    try:
        fst = os.fstat(fd)
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            raise OSError(errno.ESTALE, "a directory was replaced during removal")
        with os.scandir(fd) as it:
            names = [e.name for e in it]
        foreign: list[str] = []
        for child in names:
            cst = os.stat(child, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(cst.st_mode) and cst.st_dev != fst.st_dev:
                # Another filesystem is mounted here: never enter it. The rest goes; then this
                # directory cannot, and the failure names what was left.
                foreign.append(child)
                continue
            if stat.S_ISDIR(cst.st_mode):
                _remove_dir_at(fd, child, cst, progress)
            else:
                os.unlink(child, dir_fd=fd)
                progress.removed += 1
                if stat.S_ISREG(cst.st_mode):
                    progress.bytes += cst.st_size
    finally:
        os.close(fd)
    if foreign:
        progress.foreign.extend(foreign)
        raise OSError(errno.EXDEV, f"{display_name(foreign[0])} is on another filesystem (a mount "
                      "point): left alone, with the directories above it")
    os.rmdir(name, dir_fd=pfd)
    progress.removed += 1


# ---------------------------------------------------------------------------------------------
# Train v2 snapshot


class UnsafeWrite(OSError):
    """A name ckpt-tui would write (its state dir, the log, a snapshot or its temp file) is a
    symlink or not what it should be: nothing is written there."""


def _open_dir(directory: str, create: bool = False) -> int:
    """An fd of ``directory`` opened without following a symlink at its last component (the
    run root is a realpath already). ``create``: make it first if it is missing."""
    if create:
        parent = os.path.dirname(directory)
        if parent and not os.path.isdir(parent):
            os.makedirs(parent, exist_ok=True)
        try:
            os.mkdir(directory, 0o755)
        except FileExistsError:
            pass
    try:
        return os.open(directory, _DIR_FLAGS | _NOFOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafeWrite(errno.ELOOP, f"{display_name(directory)} is a symlink or not a directory: "
                              "ckpt-tui writes nothing there") from None
        raise


def _check_target(dfd: int, name: str, directory: str) -> None:
    """Refuse to replace ``name`` in ``dfd`` unless it is absent or a plain regular file."""
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        raise UnsafeWrite(errno.ELOOP, f"{display_name(os.path.join(directory, name))} is a symlink, a hard "
                          "link or not a regular file: ckpt-tui writes nothing there")


def _create_exclusive(dfd: int, name: str) -> tuple[str, int]:
    """A new temp file next to ``name``: created with O_EXCL | O_NOFOLLOW relative to ``dfd``,
    under a name nobody can guess, so nothing planted can be opened in its place."""
    for _ in range(8):
        tmp = f".{name}{TMP_MARK}{os.getpid()}.{secrets.token_hex(6)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                         0o644, dir_fd=dfd)
            return tmp, fd
        except FileExistsError:
            continue
    raise UnsafeWrite(errno.EEXIST, f"could not create a temporary file for {display_name(name)}")


def _atomic_write(path: str, data: bytes, create_dir: bool = False) -> None:
    """Write ``path`` whole or not at all: a new temp file (exclusive, never through a link),
    fsync, rename over ``path`` (which must be absent or a regular file), all relative to a
    directory fd opened without following links."""
    directory, name = os.path.split(path)
    dfd = _open_dir(directory, create=create_dir)
    try:
        _check_target(dfd, name, directory)
        tmp, fd = _create_exclusive(dfd, name)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        try:
            os.fsync(dfd)
        except OSError:
            pass
    finally:
        os.close(dfd)


def snapshot_without(raw: bytes, name: str) -> Optional[bytes]:
    """The Train v2 snapshot ``raw`` with checkpoint ``name`` dropped from every list that names
    it, or None when it does not list it. Raises _Skip when it cannot be rewritten safely (not
    JSON, ``name`` is the latest, pending work for it). Local and object-store deletion share it."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise _Skip(f"{SNAPSHOT} is not valid JSON: not rewriting it, so not deleting") from None
    if not isinstance(data, dict) or not isinstance(data.get("checkpoint_results"), list):
        raise _Skip(f"{SNAPSHOT} has no checkpoint_results list: not rewriting it, so not deleting")
    results = data["checkpoint_results"]
    positions = [i for i, r in enumerate(results)
                 if isinstance(r, dict) and r.get("checkpoint_dir_name") == name]
    latest = data.get("latest_checkpoint_result")
    if isinstance(latest, dict) and latest.get("checkpoint_dir_name") == name:
        raise _Skip(f"{SNAPSHOT} names it the latest checkpoint: Ray restores from it")
    for key in ("pending_training_results", "pending_validation_specs"):
        pending = data.get(key)
        if pending and name in json.dumps(pending):
            raise _Skip(f"{SNAPSHOT} still has pending work for it ({key})")
    if not positions:
        return None
    drop = set(positions)
    data["checkpoint_results"] = [r for i, r in enumerate(results) if i not in drop]
    indices = data.get("checkpoint_report_indices")
    if isinstance(indices, list) and len(indices) == len(results):
        data["checkpoint_report_indices"] = [x for i, x in enumerate(indices) if i not in drop]
    for key in ("validated_checkpoint_dir_names", "timed_out_validation_checkpoint_dir_names",
                "failed_validation_checkpoint_dir_names"):
        if isinstance(data.get(key), list):
            data[key] = [x for x in data[key] if x != name]
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _v2_drop_from_snapshot(ctx: _Context, name: str) -> Optional[tuple[str, bytes, bytes]]:
    """Rewrite the snapshot without ``name``. Returns what ``_v2_undo`` needs, or None when the
    snapshot does not list it. Raises _Skip when the snapshot cannot be rewritten safely."""
    req = ctx.request
    snap = os.path.join(req.root, SNAPSHOT)
    try:
        raw = read_regular_file(snap, follow_symlinks=False)
    except FileNotFoundError:
        return None  # nothing lists it: Ray's restore does not look for it
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Skip(f"{SNAPSHOT} is a symlink: not rewriting it, so not deleting") from None
        raise _Skip(f"cannot read {SNAPSHOT} to keep it consistent: {exc.strerror or exc}") from None
    new = snapshot_without(raw, name)
    if new is None:
        return None
    try:
        before = os.stat(snap)
        if ctx.own_snapshot != (before.st_ino, before.st_mtime_ns):
            ctx.foreign_snapshot_mtime = before.st_mtime
        if not ctx.snapshot_backed_up:
            backup_dir = os.path.join(req.root, STATE_DIR)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
            _atomic_write(os.path.join(backup_dir, f"{SNAPSHOT}.{stamp}.bak"), raw, create_dir=True)
            ctx.snapshot_backed_up = True
        _atomic_write(snap, new)
        # Our rewrite is not activity: the snapshot keeps the time Ray last wrote it, so the
        # next prune's idle check (and --grace) sees Ray's writes only.
        os.utime(snap, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)
        after = os.stat(snap)
        ctx.own_snapshot = (after.st_ino, after.st_mtime_ns)
    except OSError as exc:
        raise _Skip(f"cannot rewrite {SNAPSHOT} ({exc.strerror or exc}): not deleting, so Ray can "
                    "still restore") from None
    return (snap, raw, new)


def _v2_undo(ctx: _Context, undo: Optional[tuple[str, bytes, bytes]]) -> None:
    """Put the original snapshot back (only if it is still the one we wrote)."""
    if undo is None:
        return
    snap, raw, new = undo
    try:
        if read_regular_file(snap, follow_symlinks=False) != new:
            return
        _atomic_write(snap, raw)
        if ctx.foreign_snapshot_mtime is not None:
            t = ctx.foreign_snapshot_mtime
            os.utime(snap, (t, t))  # as Ray left it
        after = os.stat(snap)
        ctx.own_snapshot = (after.st_ino, after.st_mtime_ns)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# The deletion log


def _log(ctx: _Context, item: Item, deleted: bool, freed: int, note: Optional[str] = None,
         aside: Optional[str] = None) -> Optional[str]:
    """Append one JSON line; returns a note when the log could not be written."""
    req = ctx.request
    record = {
        "when": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "time": time.time(),
        "event": "deleted" if deleted else "partly-deleted",
        "path": display_name(item.path),
        "trial": display_name(item.trial_id),
        "name": display_name(item.name),
        "bytes": freed,
        "symlink": item.is_symlink,
        "layout": req.layout,
        "config": req.config.to_dict(),
        "reason": item.reason,
        "pid": os.getpid(),
    }
    if note:
        record["note"] = note
    if aside:
        record["aside"] = display_name(aside)
    return append_log(ctx.log_path, record)


def append_log(log_path: str, record: dict) -> Optional[str]:
    """Append one line to the log, never through a link: the directory is opened without
    following links, the log with O_NOFOLLOW | O_NONBLOCK and must be a regular file with one
    link. Returns a note when it could not be written."""
    line = json.dumps(record, allow_nan=False, ensure_ascii=True) + "\n"
    directory, name = os.path.split(log_path)
    try:
        dfd = _open_dir(directory, create=True)
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o644, dir_fd=dfd)
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                    raise UnsafeWrite(errno.EINVAL, "a hard link or not a regular file: not written")
                os.write(fd, line.encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            os.close(dfd)
    except (OSError, ValueError) as exc:
        if getattr(exc, "errno", None) in (errno.ELOOP, errno.ENXIO):
            exc = UnsafeWrite(errno.ELOOP, "a symlink or a FIFO: not written")
        return f"could not write the deletion log {display_name(log_path)}: {getattr(exc, 'strerror', None) or exc}"
    return None


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
        return (f"{display_name(path)} is {what}: ckpt-tui keeps its deletion log and snapshot backups there "
                "and writes nothing through it; remove it, then prune again")
    return None


# ---------------------------------------------------------------------------------------------
# Leftovers of interrupted deletions

_ASIDE_RE = re.compile(r"^(?P<name>.*)\.(?P<pid>\d+)\.(?P<ns>\d+)(-\d+)?$", re.DOTALL)


_TMP_RE = re.compile(r"^\.(?P<name>.*)" + re.escape(TMP_MARK) + r"(?P<pid>\d+)(\.[0-9a-f]+)?$", re.DOTALL)


def parse_aside(name: str) -> Optional[tuple[str, int, float]]:
    """(original name, pid, time in seconds or 0) of an aside name or a leftover temp file,
    or None."""
    if not is_aside(name):
        m = _TMP_RE.match(name) if is_leftover(name) else None
        return (m.group("name"), int(m.group("pid")), 0.0) if m else None
    m = _ASIDE_RE.match(name[len(ASIDE_PREFIX):])
    if not m:
        return None
    return m.group("name"), int(m.group("pid")), int(m.group("ns")) / 1e9


def find_leftovers(run: Run) -> list[str]:
    if is_url(run.root):  # nothing is moved aside on an object store (core/deletion_remote.py)
        return []
    return _find_local_leftovers(run)


def _find_local_leftovers(run: Run) -> list[str]:
    """Aside paths from interrupted deletions that are still on disk, inside the run."""
    root = os.path.realpath(run.root)
    out = []
    for p in dict.fromkeys(run.leftovers):
        if not is_leftover(os.path.basename(p)) or not os.path.lexists(p):
            continue
        if not _inside(os.path.realpath(os.path.dirname(p)), root):
            continue
        out.append(p)
    return sorted(out)


def leftover_size(path: str) -> int:
    return fingerprint(path).bytes


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    # A zombie still answers kill(0); it is not deleting anything.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                return False
    except (OSError, IndexError):
        pass
    return True


def clean_leftovers(paths: Iterable[str], root: Optional[str] = None,
                    log_path: Optional[str] = None) -> list[Outcome]:
    """Finish interrupted deletions: remove each aside path (links unlinked, never followed).

    Only names carrying ASIDE_PREFIX are touched; with ``root``, only those inside it. One
    outcome per path; never raises for one path's failure.
    """
    outcomes = []
    root_real = os.path.realpath(root) if root else None
    for path in paths:
        name = os.path.basename(path)
        parsed = parse_aside(name)
        original = parsed[0] if parsed else name
        try:
            if not is_leftover(name):
                raise _Skip("not a ckpt-tui leftover (no aside prefix or temp-file mark): not touched")
            if root_real and not _inside(os.path.realpath(os.path.dirname(path)), root_real):
                raise _Skip("outside the run directory: not touched")
            if not os.path.lexists(path):
                raise _Skip("no longer on disk")
            if parsed and _pid_alive(parsed[1]):
                raise _Skip(f"process {parsed[1]} may still be deleting it: try again later")
            mounted = mount_points_in(path)
            if mounted:
                raise _Skip(f"{display_name(mounted[0])} is a mount point inside it: nothing in it is touched")
            progress = _Progress()
            try:
                remove_tree(path, progress)
            except OSError as exc:
                raise _Skip(f"could not remove it all: {exc.strerror or exc}") from None
            outcome = Outcome(path, "", original, True, "leftover of an interrupted deletion", progress.bytes)
            if log_path:
                append_log(log_path, {
                    "when": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                    "time": time.time(), "event": "leftover-removed", "path": display_name(path),
                    "name": display_name(original), "bytes": progress.bytes, "pid": os.getpid(),
                    "reason": "leftover of an interrupted deletion",
                })
        except _Skip as skip:
            outcome = Outcome(path, "", original, False, str(skip), 0, aside=path)
        except Exception as exc:
            outcome = Outcome(path, "", original, False, f"unexpected error: {type(exc).__name__}: {exc}",
                              0, aside=path)
        outcomes.append(outcome)
    return outcomes


__all__ = [
    "prepare", "execute", "Outcome", "Request", "Item", "Fingerprint", "fingerprint",
    "find_leftovers", "clean_leftovers", "remove_tree", "default_log_path", "read_tune_state",
    "STATE_DIR", "LOG_NAME", "CHANGED", "parse_aside", "state_problem", "UnsafeWrite", "mount_points_in",
    "refusals", "NEWEST_ON_DISK", "RESTORE_POINT",
]
