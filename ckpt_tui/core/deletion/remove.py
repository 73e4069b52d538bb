"""Removal that never follows a symlink: rename aside, dir-fd walks, exclusive atomic writes."""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time
from typing import Optional

from ckpt_tui.core.disk import display_name
from ckpt_tui.core.model import ASIDE_PREFIX, TMP_MARK

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


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
        raise OSError(
            errno.EXDEV,
            f"{display_name(foreign[0])} is on another filesystem (a mount "
            "point): left alone, with the directories above it",
        )
    os.rmdir(name, dir_fd=pfd)
    progress.removed += 1


# ---------------------------------------------------------------------------------------------
# Writes that refuse links (the Train v2 snapshot, its backup)


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
            raise UnsafeWrite(
                errno.ELOOP, f"{display_name(directory)} is a symlink or not a directory: ckpt-tui writes nothing there"
            ) from None
        raise


def _check_target(dfd: int, name: str, directory: str) -> None:
    """Refuse to replace ``name`` in ``dfd`` unless it is absent or a plain regular file."""
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        raise UnsafeWrite(
            errno.ELOOP,
            f"{display_name(os.path.join(directory, name))} is a symlink, a hard "
            "link or not a regular file: ckpt-tui writes nothing there",
        )


def _create_exclusive(dfd: int, name: str) -> tuple[str, int]:
    """A new temp file next to ``name``: created with O_EXCL | O_NOFOLLOW relative to ``dfd``,
    under a name nobody can guess, so nothing planted can be opened in its place."""
    for _ in range(8):
        tmp = f".{name}{TMP_MARK}{os.getpid()}.{secrets.token_hex(6)}"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644, dir_fd=dfd
            )
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
