"""prepare (fingerprint what is confirmed) and execute (re-check, then delete each item)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Generator, Iterable, Iterator
from typing import Optional

from ckpt_tui.core.deletion.checks import (
    _check_v2_idle,
    _Context,
    _inside,
    mount_points_in,
    state_problem,
    still_deleted_by_a_fresh_plan,
)
from ckpt_tui.core.deletion.fingerprint import fingerprint
from ckpt_tui.core.deletion.journal import _log
from ckpt_tui.core.deletion.records import CHANGED, Item, Outcome, Request, _Skip
from ckpt_tui.core.deletion.remove import _aside_name, _Progress, _put_back, remove_tree
from ckpt_tui.core.deletion.train_v2_snapshot import _v2_drop_from_snapshot, _v2_undo
from ckpt_tui.core.disk import display_name
from ckpt_tui.core.model import TRAIN_V2, Checkpoint
from ckpt_tui.core.storage import is_url

# prepare


def new_request(plan, root: str, pinned: Iterable[str], grace_seconds: float) -> Request:
    """An empty request under the plan's config and pins (plus ``pinned``), for the local and the
    object-store ``prepare`` alike."""
    return Request(
        root=root,
        layout=plan.run.layout,
        config=plan.config,
        pinned=frozenset(set(plan.pinned) | set(pinned)),
        grace_seconds=float(grace_seconds),
        delete_untracked=getattr(plan, "delete_untracked", False),
    )


def marked_once(plan, chosen: Iterable[Checkpoint]) -> Iterator[Checkpoint]:
    """Each chosen checkpoint once; ValueError for one the plan does not mark for deletion."""
    seen: set[str] = set()
    for ckpt in chosen:
        d = plan.decisions.get(ckpt)
        if d is None or d.keep:
            raise ValueError(f"{display_name(ckpt.path)}: the plan does not mark it for deletion")
        if ckpt.path not in seen:
            seen.add(ckpt.path)
            yield ckpt


def prepare(
    plan, checkpoints: Optional[Iterable[Checkpoint]] = None, grace_seconds: float = 60.0, pinned: Iterable[str] = ()
) -> Request:
    """Fingerprint what is about to be confirmed. ``checkpoints=None``: ``plan.to_delete()``.

    Raises ValueError when asked to delete a checkpoint the plan does not mark for deletion.
    An object store's run goes to core/deletion_remote.py (the same rules where they can hold).
    """
    if is_url(plan.run.root):
        from ckpt_tui.core import deletion_remote

        return deletion_remote.prepare(plan, checkpoints, grace_seconds, pinned)
    run = plan.run
    chosen = plan.to_delete() if checkpoints is None else list(checkpoints)
    request = new_request(plan, os.path.realpath(run.root), pinned, grace_seconds)
    for ckpt in marked_once(plan, chosen):
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
            elif (
                not ckpt.is_symlink
                and ckpt.mtime is not None
                and newest_file is not None
                and newest_file / 1e9 > ckpt.mtime + 1e-6
            ):
                stale = "a file in it was written after the plan was read"
        request.items.append(
            Item(
                checkpoint=ckpt,
                path=ckpt.path,
                trial_id=ckpt.trial_id,
                name=ckpt.name,
                bytes=fp.bytes,
                reason=plan.reason(ckpt),
                fingerprint=fp,
                stale=stale,
            )
        )
    return request


# ---------------------------------------------------------------------------------------------
# execute


def execute(request: Request, log_path: Optional[str] = None) -> Generator[Outcome, None, None]:
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
            outcome = Outcome(
                item.path, item.trial_id, item.name, False, "too deeply nested to check safely: left alone", 0
            )
        except Exception as exc:  # noqa: BLE001 - never let one item stop the rest
            outcome = Outcome(
                item.path, item.trial_id, item.name, False, f"unexpected error: {type(exc).__name__}: {exc}", 0
            )
        yield outcome


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
    trial = still_deleted_by_a_fresh_plan(ctx, item)

    # 4. nothing in it is another filesystem: a mount point (another device, or a bind mount of
    # this one, which only the mount table shows) is never entered, so the checkpoint stays whole.
    now_fp = fingerprint(path)
    mounted = mount_points_in(path, now_fp, real=os.path.join(parent_real, item.name))
    if mounted:
        raise _Skip(
            f"{display_name(mounted[0])} is a mount point (another filesystem, or a bind mount) "
            f"inside it{f' (+{len(mounted) - 1} more)' if len(mounted) > 1 else ''}: "
            "nothing in this checkpoint is touched"
        )

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
        return Outcome(
            path,
            item.trial_id,
            item.name,
            False,
            f"{CHANGED} while moving it aside, and its name is taken now: left whole at "
            f"{display_name(aside)} (offered for cleanup)",
            0,
            aside=aside,
        )

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
        return Outcome(
            path,
            item.trial_id,
            item.name,
            False,
            f"partly deleted ({err}); the rest is aside at {display_name(aside)}: "
            "offered for cleanup on the next --prune",
            progress.bytes,
            aside=aside,
        )
    note = _log(ctx, item, deleted=True, freed=item.bytes)
    reason = item.reason if note is None else f"{item.reason} ({note})"
    return Outcome(path, item.trial_id, item.name, True, reason, item.bytes)
