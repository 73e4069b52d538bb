"""Safe deletion on an object store (``s3://``, ``gs://``, ...): the rules of core/deletion/
that can hold where there are no directories, no renames and no inodes.

    request = prepare(plan)            # what the user confirms: every object of each checkpoint
    for outcome in execute(request):   # re-checks each one against the store, then deletes
        ...

``prepare`` records, per checkpoint, every object under its prefix with its size and ETag, as
the read listed them (what the user was shown). Right before a checkpoint is deleted,
``execute``:

1. re-reads its trial (one fresh listing of the trial, its result.json, the newest experiment
   state) and re-plans it under the request's config: the fresh plan must still delete it; it
   is not its trial's latest checkpoint, not the checkpoint Tune restores the trial (or another
   trial) from, not the newest checkpoint its trial still has;
2. checks the checkpoint's prefix is inside the run's prefix (never a key outside the run);
3. re-lists the checkpoint's prefix and compares keys, sizes and ETags with what was
   confirmed: anything added, removed or rewritten is "changed since you confirmed";
4. a RUNNING trial's checkpoint younger than the grace period is left (Train v2: a run whose
   snapshot or checkpoints are that young looks active);
5. Train v2: the snapshot is backed up to ``<run>/.ckpt-tui/`` (once) and rewritten without the
   checkpoint only if unchanged since read (an ``If-Match`` conditional PUT on S3, after a HEAD
   that compares the ETag, which is the check on stores without conditional writes);
6. writes a marker ``<run>/.ckpt-tui/deleting/<checkpoint>.json`` (readers warn "partly deleted"
   while it is there), deletes exactly the confirmed keys, 1,000 per request, then removes the
   marker. A failure part-way leaves the marker and says which keys remain: a checkpoint is
   either whole or listed as partly deleted, never silently half gone.

Not possible on an object store (README says so): an atomic rename aside (the objects go one
batch at a time), mount-point and st_dev checks (there are none), symlink checks (no links), a
lock against a writer between the re-list and the delete (the window is one request; an object
written in it is not in the confirmed list and is left, and reported). On a bucket with
versioning, deleted objects stay as noncurrent versions and still cost until a lifecycle rule
removes them.

Every deletion is journalled as JSON lines in a local state dir
(``$XDG_STATE_HOME/ckpt-tui/<scheme>/<bucket>/<prefix>/deletions.jsonl``) and in the run's prefix
(``<run>/.ckpt-tui/deletions/<time>-<pid>.jsonl``, rewritten whole after each item: objects
cannot be appended to).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Generator, Iterable
from datetime import datetime, timezone
from typing import Optional

from ckpt_tui.core.deletion import _Skip, snapshot_without
from ckpt_tui.core.model import TRAIN_V2, Checkpoint, Run
from ckpt_tui.core.ray_names import SNAPSHOT
from ckpt_tui.core.storage import storage_for

STATE_DIR = ".ckpt-tui"
MARKERS = "deleting"
BATCH = 1000  # keys per DeleteObjects request (S3's limit)


def _fs(path: str):
    return storage_for(path)


def local_journal_path(root: str) -> str:
    fs = _fs(root)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "ckpt-tui", fs.scheme, fs.key(root), "deletions.jsonl")


def marker_path(root: str, ckpt_path: str) -> str:
    rel = ckpt_path[len(root) + 1 :]
    return f"{root}/{STATE_DIR}/{MARKERS}/{rel}.json"


def _inside(path: str, root: str) -> bool:
    return path.startswith(root.rstrip("/") + "/") and "/../" not in path + "/" and "/./" not in path + "/"


def remote_fingerprint(path: str, fresh: bool = True):
    """Every object under ``path``: keys (relative), sizes and ETags, as a deletion.Fingerprint
    (so ``same_tree``/``difference`` compare them). ``fresh=False``: from the read's listing
    when it is still cached. Never raises."""
    from ckpt_tui.core.deletion import Fingerprint

    fs = _fs(path)
    try:
        objects = fs.tree_objects(path, fresh=fresh)
    except Exception as exc:  # noqa: BLE001 - the store's own errors (credentials, network): not verifiable, not deleted
        return Fingerprint((0, 0, "d", None), (), 0, 0.0, f"cannot list it: {exc}")
    prefix = fs.realpath(path) + "/"
    entries = tuple(
        sorted((url[len(prefix) :], "f", size, 0, etag, None) for url, (size, etag, _mtime) in objects.items())
    )
    newest = max((m for (_s, _e, m) in objects.values()), default=0.0)
    return Fingerprint((0, 0, "d", None), entries, sum(s for (s, _e, _m) in objects.values()), newest)


def prepare(
    plan, checkpoints: Optional[Iterable[Checkpoint]] = None, grace_seconds: float = 60.0, pinned: Iterable[str] = ()
):
    from ckpt_tui.core.deletion import Item
    from ckpt_tui.core.deletion.flow import marked_once, new_request

    run = plan.run
    fs = _fs(run.root)
    chosen = plan.to_delete() if checkpoints is None else list(checkpoints)
    request = new_request(plan, fs.realpath(run.root), pinned, grace_seconds)
    for ckpt in marked_once(plan, chosen):
        fp = remote_fingerprint(ckpt.path, fresh=False)  # as the read listed it: what was shown
        stale = None
        if fp.error is None:
            if not fp.entries:
                stale = "no objects under it any more"
            elif ckpt.file_count is not None and len(fp.entries) != ckpt.file_count:
                stale = f"{ckpt.file_count} objects when the plan was read, {len(fp.entries)} now"
            elif ckpt.size_bytes is not None and fp.bytes != ckpt.size_bytes:
                stale = f"{ckpt.size_bytes} bytes when the plan was read, {fp.bytes} now"
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


class _Journal:
    def __init__(self, root: str) -> None:
        self.root = root
        self.local = local_journal_path(root)
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
        self.remote = f"{root}/{STATE_DIR}/deletions/{stamp}-{os.getpid()}-{secrets.token_hex(3)}.jsonl"
        self.lines: list[str] = []

    def write(self, record: dict) -> Optional[str]:
        record = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "pid": os.getpid(), **record}
        line = json.dumps(record, ensure_ascii=True, allow_nan=False)
        self.lines.append(line)
        problems = []
        try:
            os.makedirs(os.path.dirname(self.local), exist_ok=True)
            with open(self.local, "a", encoding="ascii") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            problems.append(f"local journal {self.local}: {exc.strerror or exc}")
        try:
            _fs(self.remote).write_file(self.remote, ("\n".join(self.lines) + "\n").encode("ascii"))
        except Exception as exc:  # noqa: BLE001 - the store's own errors: reported as a journal problem
            problems.append(f"journal {self.remote}: {exc}")
        return "; ".join(problems) or None


def execute(request, log_path: Optional[str] = None) -> Generator:
    from ckpt_tui.core.deletion import Outcome, _Context

    ctx = _Context(request, log_path or request.log_path)
    ctx.journal = _Journal(request.root)
    ctx.snapshot_backup = None
    for item in request.items:
        try:
            outcome = _delete_one(ctx, item)
        except _Skip as skip:
            outcome = Outcome(item.path, item.trial_id, item.name, False, str(skip), 0)
        except Exception as exc:  # noqa: BLE001 - never let one item stop the rest
            outcome = Outcome(
                item.path, item.trial_id, item.name, False, f"unexpected error: {type(exc).__name__}: {exc}", 0
            )
        yield outcome


def _delete_one(ctx, item):
    from ckpt_tui.core.deletion import CHANGED, Outcome
    from ckpt_tui.core.deletion.checks import still_deleted_by_a_fresh_plan

    req = ctx.request
    root = req.root
    path = item.path
    fs = _fs(root)

    # never a key outside the run
    if not _inside(path, root):
        raise _Skip(f"not inside the run's prefix ({root}): never deleted")
    if path.rstrip("/").rsplit("/", 1)[-1] != item.name:
        raise _Skip("its name does not match its key: never deleted")

    # 1. a fresh read and a fresh plan still delete it
    trial = still_deleted_by_a_fresh_plan(ctx, item)

    # 3. re-list its prefix: the same keys, sizes and ETags as confirmed
    if item.stale:
        raise _Skip(f"{CHANGED}: {item.stale}")
    if item.fingerprint.error:
        raise _Skip(f"could not be listed fully when confirmed: {item.fingerprint.error}")
    now_fp = remote_fingerprint(path, fresh=True)
    if now_fp.error:
        raise _Skip(now_fp.error)
    if not now_fp.entries:
        raise _Skip("no objects under it any more (removed by someone else?)")
    if not item.fingerprint.same_tree(now_fp):
        raise _Skip(f"{CHANGED}: {item.fingerprint.difference(now_fp)}")

    # 4. a RUNNING trial's young checkpoint; an active-looking Train v2 run
    now = time.time()
    grace = req.grace_seconds
    age = now - now_fp.newest_mtime
    if trial.status == "RUNNING" and age < grace:
        raise _Skip(f"trial is RUNNING and the checkpoint is {age:.0f} s old (grace {grace:g} s)")
    snapshot_undo = None
    if req.layout == TRAIN_V2:
        _check_v2_idle(ctx, trial, now, grace)
        snapshot_undo = _v2_drop_from_snapshot(ctx, item.name)

    # 6. marker, the confirmed keys only (1,000 per request), marker removed
    keys = [f"{path}/{rel}" for (rel, *_rest) in item.fingerprint.entries]
    if any(not k.startswith(path + "/") or not _inside(k, root) for k in keys):
        _v2_undo(ctx, snapshot_undo)
        raise _Skip("a key does not lie under the checkpoint's prefix: never deleted")
    marker = marker_path(root, path)
    journal = ctx.journal
    try:
        fs.write_file(
            marker,
            json.dumps(
                {"checkpoint": path, "objects": len(keys), "bytes": item.bytes, "pid": os.getpid(), "time": now}
            ).encode(),
        )
    except Exception as exc:  # noqa: BLE001 - the store's own errors: no marker, so nothing is deleted
        _v2_undo(ctx, snapshot_undo)
        raise _Skip(f"could not write the marker {marker} (nothing deleted, left whole): {exc}") from None
    journal.write(
        {
            "event": "deleting",
            "path": path,
            "trial": item.trial_id,
            "name": item.name,
            "objects": len(keys),
            "bytes": item.bytes,
            "reason": item.reason,
        }
    )
    deleted, failed = fs.delete_keys(keys)
    fs.forget(os.path.dirname(path))  # the trial's cached listing is out of date either way
    freed = sum(e[2] for e in item.fingerprint.entries if f"{path}/{e[0]}" in set(deleted))
    if failed:
        first_key, first_error = next(iter(failed.items()))
        if not deleted:
            _remove_marker(fs, marker)
            _v2_undo(ctx, snapshot_undo)
            journal.write({"event": "skipped", "path": path, "note": f"could not delete: {first_error}"})
            raise _Skip(f"could not delete: {first_error} (nothing removed, left whole)")
        note = journal.write(
            {
                "event": "partly deleted",
                "path": path,
                "deleted": len(deleted),
                "remaining": sorted(failed)[:1000],
                "error": first_error,
            }
        )
        return Outcome(
            path,
            item.trial_id,
            item.name,
            False,
            f"partly deleted: {len(deleted)} of {len(keys)} objects removed, {len(failed)} remain "
            f"({first_key}: {first_error}); listed as partly deleted until a --prune finishes it"
            + (f" ({note})" if note else ""),
            freed,
        )
    left = {}
    try:
        left = fs.tree_objects(path, fresh=True)
    except Exception:  # noqa: BLE001 - the store's own errors: what was deleted is reported as is
        pass
    if left:  # written between the re-list and the delete: not confirmed, so not deleted
        note = journal.write(
            {
                "event": "partly deleted",
                "path": path,
                "deleted": len(deleted),
                "remaining": sorted(left)[:1000],
                "note": "objects written after the check",
            }
        )
        return Outcome(
            path,
            item.trial_id,
            item.name,
            False,
            f"partly deleted: {len(left)} object(s) written under it after the check were left "
            f"(first: {sorted(left)[0]}); listed as partly deleted" + (f" ({note})" if note else ""),
            freed,
        )
    _remove_marker(fs, marker)
    note = journal.write(
        {
            "event": "deleted",
            "path": path,
            "trial": item.trial_id,
            "name": item.name,
            "bytes": freed,
            "objects": len(deleted),
            "reason": item.reason,
        }
    )
    fs.forget(path)
    reason = item.reason if note is None else f"{item.reason} ({note})"
    return Outcome(path, item.trial_id, item.name, True, reason, freed)


def _remove_marker(fs, marker: str) -> None:
    try:
        fs.delete_keys([marker])
    except Exception:  # noqa: BLE001 - best effort: a marker left is found and finished by the next --prune
        pass


def _check_v2_idle(ctx, trial, now: float, grace: float) -> None:
    fs = _fs(ctx.request.root)
    newest = 0.0
    st = fs.stat_fresh(f"{ctx.request.root}/{SNAPSHOT}")
    if st is not None:
        own = getattr(ctx, "own_snapshot_etag", None)
        newest = (
            ctx.foreign_snapshot_mtime
            if (own is not None and st.etag == own and ctx.foreign_snapshot_mtime is not None)
            else st.st_mtime
        )
    for ckpt in trial.checkpoints:
        if ckpt.mtime is not None:
            newest = max(newest, ckpt.mtime)
    age = now - newest
    if age < grace:
        raise _Skip(
            f"the run looks active (last write {age:.0f} s ago, grace {grace:g} s): Train v2 "
            "records no status, and rewriting its checkpoint_manager_snapshot.json while it "
            "runs could leave a run Ray cannot restore; stop the run or wait"
        )


def _v2_drop_from_snapshot(ctx, name: str):
    """Rewrite the snapshot without ``name`` if it is unchanged since read; (path, old bytes,
    old ETag) for an undo, or None when the snapshot does not list it."""
    from ckpt_tui.core.storage.fsspec_store import ChangedSince

    root = ctx.request.root
    fs = _fs(root)
    snap = f"{root}/{SNAPSHOT}"
    before = fs.stat_fresh(snap)
    if before is None:
        return None
    try:
        fs.forget_file(snap)
        data = fs.read_file(snap)
    except OSError as exc:
        raise _Skip(f"cannot read {SNAPSHOT} to keep it consistent: {exc}") from None
    after = fs.stat_fresh(snap)
    if after is None or after.etag != before.etag:
        raise _Skip(f"{SNAPSHOT} changed while it was read: not rewriting it, so not deleting")
    new = snapshot_without(data, name)  # the same rewrite as on a local disk
    if new is None:
        return None
    if ctx.snapshot_backup is None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
        backup = f"{root}/{STATE_DIR}/{SNAPSHOT}.{stamp}-{os.getpid()}.bak"
        try:
            fs.write_file(backup, data)
        except Exception as exc:  # noqa: BLE001 - the store's own errors: no backup, so the snapshot is not rewritten
            raise _Skip(f"could not back up {SNAPSHOT} (nothing changed): {exc}") from None
        ctx.snapshot_backup = backup
        ctx.foreign_snapshot_mtime = before.st_mtime
    try:
        fs.write_file(snap, new, if_match=before.etag)
    except ChangedSince:
        raise _Skip(f"{SNAPSHOT} changed since it was read: not rewriting it, so not deleting") from None
    except Exception as exc:  # noqa: BLE001 - the store's own errors: not rewritten, so nothing deleted
        raise _Skip(f"could not rewrite {SNAPSHOT} (nothing deleted): {exc}") from None
    now = fs.stat_fresh(snap)
    ctx.own_snapshot_etag = now.etag if now is not None else None
    return snap, data, ctx.own_snapshot_etag


def _v2_undo(ctx, undo) -> None:
    if undo is None:
        return
    snap, data, etag = undo
    try:
        _fs(snap).write_file(snap, data, if_match=etag)
    except Exception:  # noqa: BLE001 - best effort undo; the backup in .ckpt-tui stays
        pass


def versioning_note(root: str) -> Optional[str]:
    """One line for a prune of a run in a bucket with versioning (one request), else None."""
    fs = _fs(root)
    if fs.scheme not in ("s3", "s3a"):
        return None
    bucket = fs.key(root).partition("/")[0]
    try:
        status = fs.fs.call_s3("get_bucket_versioning", Bucket=bucket).get("Status")
    except Exception:  # noqa: BLE001 - any store error: versioning unknown, no warning
        return None
    if status not in ("Enabled", "Suspended"):
        return None
    return (
        f"bucket {bucket} has versioning {status.lower()}: deleted objects stay as noncurrent versions "
        "and still cost until a lifecycle rule (NoncurrentVersionExpiration) removes them"
    )


def find_leftovers(run: Run) -> list[str]:
    """Nothing is ever moved aside on an object store: partly deleted checkpoints stay listed
    (with a reader warning, from their marker) and a --prune that plans them deletes the rest."""
    return []


def partial_deletions(root: str) -> list[tuple[str, int]]:
    """(checkpoint url, objects still under it) for each marker of a deletion that did not
    finish. One listing of ``<run>/.ckpt-tui/deleting/`` (only asked when ``.ckpt-tui`` exists)."""
    fs = _fs(root)
    base = f"{root}/{STATE_DIR}/{MARKERS}"
    try:
        markers = fs.tree_objects(base, fresh=True)
    except Exception:  # noqa: BLE001 - the store's own errors: no markers found this time
        return []
    out = []
    for url in sorted(markers):
        if not url.endswith(".json"):
            continue
        ckpt = root + "/" + url[len(base) + 1 : -len(".json")]
        try:
            left = fs.tree_objects(ckpt, fresh=True)
        except Exception:  # noqa: BLE001 - the store's own errors: this marker is checked next time
            continue
        if left:
            out.append((ckpt, len(left)))
    return out
