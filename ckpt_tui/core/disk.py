"""Small filesystem helpers shared by readers and deletion: sizes, display names."""

from __future__ import annotations

import os
from typing import Optional


# A directory listing is reused only while the directory's mtime is unchanged and was at least
# this old when the listing was made: a change in the same timestamp tick (1 s or 2 s on some
# filesystems) would not move the mtime.
SETTLED_NS = 3_000_000_000


def display_name(name: str) -> str:
    """A name that prints: undecodable bytes (kept by surrogateescape) shown as U+FFFD."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "replace")


def is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def tree_size(path: str, errors: Optional[list] = None) -> tuple[int, int, Optional[float]]:
    """Bytes of the regular files under ``path``, the count of non-directory entries, and the
    newest modification time among them (the dir's own when it holds none). Links are not
    followed. The mtimes come with the stats the sizes need anyway: no extra system call.
    This runs once per checkpoint (100,000 times on a big run): kept free of calls it can avoid."""
    total = 0
    count = 0
    newest = -1.0
    stack = [path]
    while stack:
        current = stack.pop()
        try:
            it = os.scandir(current)
        except OSError as exc:
            if errors is not None:
                errors.append(f"{display_name(current)}: {exc.strerror or exc}")
            continue
        with it:
            for entry in it:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                        continue
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    if errors is not None:
                        errors.append(f"{display_name(entry.path)}: {exc.strerror or exc}")
                    continue
                if st.st_mode & 0o170000 == 0o100000:  # a regular file
                    total += st.st_size
                count += 1
                if st.st_mtime > newest:
                    newest = st.st_mtime
    if count:
        return total, count, newest
    try:
        return total, count, os.lstat(path).st_mtime
    except OSError:
        return total, count, None
