"""The storage interface every reader, the watcher's polling and the deletion go through.

A path is a plain string: a local path (``/data/run``) or a URL (``s3://bucket/prefix/run``).
Both use "/" between parts, so ``os.path.join``/``basename``/``dirname`` work on either;
``realpath`` and everything that touches the store go through the Storage that owns the path
(``storage_for(path)``).

Entries returned by ``scandir`` look like ``os.DirEntry`` (``name``, ``path``, ``is_dir()``,
``is_symlink()``, ``stat()``), so code written against ``os.scandir`` runs on both: the local
implementation returns ``os.scandir`` itself (no cost added to today's fast paths).
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional


class MissingExtra(Exception):
    """The URL's protocol needs an optional dependency that is not installed."""


@dataclass
class StatResult:
    """What a store can say about one object or prefix, shaped like ``os.stat_result``."""

    st_size: int
    st_mtime: float
    is_dir: bool = False
    etag: Optional[str] = None

    @property
    def st_mtime_ns(self) -> int:
        return int(self.st_mtime * 1e9)

    st_ctime_ns = st_mtime_ns

    @property
    def st_ino(self) -> int:
        return 0

    @property
    def st_dev(self) -> int:
        return 0

    @property
    def st_mode(self) -> int:
        return 0o040755 if self.is_dir else 0o100644


class Entry:
    """One name in a listing, duck-typed as ``os.DirEntry``. Object stores have no links."""

    __slots__ = ("name", "path", "_dir", "size", "mtime", "etag")

    def __init__(
        self, name: str, path: str, is_dir: bool, size: int = 0, mtime: float = 0.0, etag: Optional[str] = None
    ) -> None:
        self.name = name
        self.path = path
        self._dir = is_dir
        self.size = size
        self.mtime = mtime
        self.etag = etag

    def is_dir(self, follow_symlinks: bool = True) -> bool:
        return self._dir

    def is_file(self, follow_symlinks: bool = True) -> bool:
        return not self._dir

    def is_symlink(self) -> bool:
        return False

    def stat(self, follow_symlinks: bool = True) -> StatResult:
        return StatResult(self.size, self.mtime, self._dir, self.etag)

    def __repr__(self) -> str:
        return f"<Entry {self.path}{'/' if self._dir else ''}>"


class Listing(list):
    """A list of entries usable as ``with storage.scandir(p) as it:`` like ``os.scandir``."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


class Storage:
    """The interface. Errors are OSError subclasses as the local calls raise them
    (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)."""

    local = True
    scheme = ""

    def realpath(self, path: str) -> str:
        raise NotImplementedError

    def scandir(self, path: str):
        """The entries directly in ``path`` (a context manager iterable of DirEntry-likes)."""
        raise NotImplementedError

    def listdir(self, path: str) -> list[str]:
        with self.scandir(path) as it:
            return [e.name for e in it]

    def isdir(self, path: str) -> bool:
        try:
            return self.stat(path).st_mode & 0o170000 == 0o040000
        except OSError:
            return False

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
            return True
        except OSError:
            return False

    def stat(self, path: str):
        raise NotImplementedError

    def read_file(self, path: str, limit: Optional[int] = None) -> bytes:
        """A regular file's bytes, never more than ``limit`` (disk.MAX_FILE_BYTES by default)."""
        raise NotImplementedError

    def tree_size(self, path: str, errors: Optional[list] = None) -> tuple[int, int, Optional[float]]:
        """(bytes, files, newest mtime) of everything under ``path``, links not followed."""
        raise NotImplementedError

    def write_file(self, path: str, data: bytes) -> None:
        """Replace ``path`` with ``data`` whole (readers never see half a file)."""
        raise NotImplementedError

    def delete_tree(self, path: str) -> int:
        """Remove ``path`` and everything under it, never following a link out of it."""
        raise NotImplementedError

    def rename(self, src: str, dst: str) -> None:
        raise NotImplementedError

    # Hints for stores where each request costs: no-ops locally.
    def refresh(self, path: str) -> None:
        """Make a fresh listing of ``path``'s subtree current before reading it."""

    def stream(self, root: str, children: list) -> bool:
        """List ``root`` whole in one listing, ``children`` becoming readable as it passes them.
        False when this storage does not (then ``prefetch``)."""
        return False

    def prefetch(self, paths: Iterable[str]) -> None:
        """Start listing (recursively) and reading the small Ray files of ``paths`` ahead."""

    def forget_listing(self, path: str) -> None:
        """Drop a cached listing of ``path`` itself (not of its subtree)."""

    def forget(self, path: str) -> None:
        """Drop what is cached under ``path``: the next call asks the store again."""


def not_found(path: str) -> FileNotFoundError:
    return FileNotFoundError(errno.ENOENT, "No such file or directory", path)


def not_a_dir(path: str) -> NotADirectoryError:
    return NotADirectoryError(errno.ENOTDIR, "Not a directory", path)


def is_a_dir(path: str) -> IsADirectoryError:
    return IsADirectoryError(errno.EISDIR, "is a directory", path)
