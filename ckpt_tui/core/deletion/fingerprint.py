"""What a checkpoint is on disk, fingerprinted without following links (see the package docstring)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Optional

from ckpt_tui.core.disk import display_name


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

    def same_tree(self, other: Fingerprint) -> bool:
        return self.error is None and other.error is None and self.root == other.root and self.entries == other.entries

    def difference(self, other: Fingerprint) -> str:
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
