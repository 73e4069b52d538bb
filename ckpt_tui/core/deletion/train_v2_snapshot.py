"""Rewriting a Train v2 checkpoint_manager_snapshot.json without a checkpoint, and undoing it."""

from __future__ import annotations

import errno
import json
import os
from datetime import datetime, timezone
from typing import Optional

from ckpt_tui.core.deletion.checks import _Context
from ckpt_tui.core.deletion.records import STATE_DIR, _Skip
from ckpt_tui.core.deletion.remove import _atomic_write
from ckpt_tui.core.disk import read_regular_file
from ckpt_tui.core.ray_names import SNAPSHOT


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
    positions = [i for i, r in enumerate(results) if isinstance(r, dict) and r.get("checkpoint_dir_name") == name]
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
    for key in (
        "validated_checkpoint_dir_names",
        "timed_out_validation_checkpoint_dir_names",
        "failed_validation_checkpoint_dir_names",
    ):
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
        raise _Skip(
            f"cannot rewrite {SNAPSHOT} ({exc.strerror or exc}): not deleting, so Ray can still restore"
        ) from None
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
