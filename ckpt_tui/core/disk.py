"""Small filesystem helpers shared by readers and deletion: sizes, display names."""

from __future__ import annotations

import errno
import os
import stat
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


# What one file of a run may take. result.json of a trial of 200,000 reports is about 200 MB;
# anything beyond this is not a Ray file, and reading it would only exhaust memory.
MAX_FILE_BYTES = 1 << 30


class NotRegularFile(OSError):
    """The name is a FIFO, a device, a socket (or a directory): not read, so never blocked on."""


class FileTooLarge(OSError):
    """The file is larger than what one Ray file may take: not read."""


def read_regular_file(
    path: str, limit: Optional[int] = None, follow_symlinks: bool = True, dir_fd: Optional[int] = None
) -> bytes:
    """The bytes of the regular file at ``path``, never blocking and never more than ``limit``
    (default MAX_FILE_BYTES). Opened with O_NONBLOCK, so a FIFO planted in place of a file
    returns at once; then fstat on the open file (no race with a swap): anything but a regular
    file raises NotRegularFile (IsADirectoryError for a directory), a file over the limit
    FileTooLarge. ``follow_symlinks=False`` refuses a symlink at the last component (ELOOP).
    Other failures raise OSError as ``open`` would."""
    limit = MAX_FILE_BYTES if limit is None else limit
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    # Through open() with an opener: the flags above, and the one place tests can intercept.
    with open(path, "rb", buffering=0, opener=lambda p, _f: os.open(p, flags, dir_fd=dir_fd)) as f:
        fd = f.fileno()
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(errno.EINVAL, f"not a regular file (a {_kind_word(st.st_mode)}): not read", path)
        if st.st_size > limit:
            raise FileTooLarge(
                errno.EFBIG, f"{st.st_size} bytes, over the {limit}-byte limit for one file: not read", path
            )
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 24, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise FileTooLarge(errno.EFBIG, f"over the {limit}-byte limit for one file: not read", path)
        return b"".join(chunks)


def _kind_word(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"
