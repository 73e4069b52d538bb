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

Modules: ``records`` (Request, Item, Outcome), ``fingerprint``, ``flow`` (prepare, execute),
``checks`` (the re-checks, refusals, mounts, state_problem), ``remove`` (aside, remove_tree),
``train_v2_snapshot``, ``journal`` (the log), ``leftovers``. Every name is re-exported here.
"""

from __future__ import annotations

from ckpt_tui.core.deletion.checks import (
    NEWEST_ON_DISK,
    RESTORE_POINT,
    _check_v2_idle,
    _Context,
    _inside,
    _mount_table,
    _newest_on_disk,
    mount_points_in,
    read_tune_state,
    refusals,
    state_problem,
)
from ckpt_tui.core.deletion.fingerprint import Fingerprint, _kind, fingerprint
from ckpt_tui.core.deletion.flow import _delete_one, execute, prepare
from ckpt_tui.core.deletion.journal import _log, append_log
from ckpt_tui.core.deletion.leftovers import (
    _find_local_leftovers,
    _pid_alive,
    clean_leftovers,
    find_leftovers,
    leftover_size,
    parse_aside,
)
from ckpt_tui.core.deletion.records import CHANGED, LOG_NAME, STATE_DIR, Item, Outcome, Request, _Skip, default_log_path
from ckpt_tui.core.deletion.remove import (
    UnsafeWrite,
    _aside_name,
    _atomic_write,
    _check_target,
    _create_exclusive,
    _open_dir,
    _Progress,
    _put_back,
    _remove_dir_at,
    remove_tree,
)
from ckpt_tui.core.deletion.train_v2_snapshot import _v2_drop_from_snapshot, _v2_undo, snapshot_without
from ckpt_tui.core.model import ASIDE_PREFIX  # callers import it from here

__all__ = [
    "prepare",
    "execute",
    "Outcome",
    "Request",
    "Item",
    "Fingerprint",
    "fingerprint",
    "find_leftovers",
    "clean_leftovers",
    "remove_tree",
    "default_log_path",
    "read_tune_state",
    "STATE_DIR",
    "LOG_NAME",
    "CHANGED",
    "parse_aside",
    "state_problem",
    "UnsafeWrite",
    "mount_points_in",
    "refusals",
    "NEWEST_ON_DISK",
    "RESTORE_POINT",
    "ASIDE_PREFIX",
    "append_log",
    "leftover_size",
    "snapshot_without",
]
_PRIVATE = (
    _check_v2_idle,
    _Context,
    _inside,
    _mount_table,
    _newest_on_disk,
    _kind,
    _delete_one,
    _log,
    _find_local_leftovers,
    _pid_alive,
    _Skip,
    _aside_name,
    _atomic_write,
    _check_target,
    _create_exclusive,
    _open_dir,
    _Progress,
    _put_back,
    _remove_dir_at,
    _v2_drop_from_snapshot,
    _v2_undo,
)  # re-exported for core/deletion_remote.py, core/storage/local.py and tests
