"""The local filesystem: today's calls, unchanged (``os.scandir`` with its d_type, one
``open`` with O_NONBLOCK per file, the dir-fd/O_NOFOLLOW deletion and writes of
core/deletion/). Going through this adds one attribute lookup per directory, nothing per
entry."""

from __future__ import annotations

import os
from typing import Optional

from ckpt_tui.core.disk import read_regular_file, tree_size
from ckpt_tui.core.storage.base import Storage


class LocalStorage(Storage):
    local = True
    scheme = ""

    # Looked up at each call (not bound at import): tests that patch ``os`` still see it.
    @staticmethod
    def realpath(path: str) -> str:
        return os.path.realpath(path)

    @staticmethod
    def scandir(path: str):
        return os.scandir(path)

    @staticmethod
    def listdir(path: str) -> list:
        return os.listdir(path)

    @staticmethod
    def isdir(path: str) -> bool:
        return os.path.isdir(path)

    @staticmethod
    def exists(path: str) -> bool:
        return os.path.exists(path)

    @staticmethod
    def stat(path: str):
        return os.stat(path)

    @staticmethod
    def tree_size(path: str, errors: Optional[list] = None):
        return tree_size(path, errors)

    @staticmethod
    def refresh(path: str) -> None:
        """Nothing is cached locally."""

    @staticmethod
    def read_file(path: str, limit: Optional[int] = None) -> bytes:
        return read_regular_file(path, limit)

    @staticmethod
    def write_file(path: str, data: bytes) -> None:
        from ckpt_tui.core.deletion import _atomic_write  # O_EXCL|O_NOFOLLOW temp file, fsync, replace

        _atomic_write(path, data)

    @staticmethod
    def delete_tree(path: str) -> int:
        from ckpt_tui.core.deletion import remove_tree  # dir fds, O_NOFOLLOW, never another st_dev

        return remove_tree(path)

    @staticmethod
    def rename(src: str, dst: str) -> None:
        os.rename(src, dst)


LOCAL = LocalStorage()
