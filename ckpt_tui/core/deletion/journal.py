"""The deletion log: one JSON line per deletion in <run>/.ckpt-tui/deletions.jsonl."""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from datetime import datetime, timezone
from typing import Optional

from ckpt_tui.core.deletion.checks import _Context
from ckpt_tui.core.deletion.records import Item
from ckpt_tui.core.deletion.remove import _NOFOLLOW, UnsafeWrite, _open_dir
from ckpt_tui.core.disk import display_name


def _log(
    ctx: _Context, item: Item, deleted: bool, freed: int, note: Optional[str] = None, aside: Optional[str] = None
) -> Optional[str]:
    """Append one JSON line; returns a note when the log could not be written."""
    req = ctx.request
    record = {
        "when": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "time": time.time(),
        "event": "deleted" if deleted else "partly-deleted",
        "path": display_name(item.path),
        "trial": display_name(item.trial_id),
        "name": display_name(item.name),
        "bytes": freed,
        "symlink": item.is_symlink,
        "layout": req.layout,
        "config": req.config.to_dict(),
        "reason": item.reason,
        "pid": os.getpid(),
    }
    if note:
        record["note"] = note
    if aside:
        record["aside"] = display_name(aside)
    return append_log(ctx.log_path, record)


def append_log(log_path: str, record: dict) -> Optional[str]:
    """Append one line to the log, never through a link: the directory is opened without
    following links, the log with O_NOFOLLOW | O_NONBLOCK and must be a regular file with one
    link. Returns a note when it could not be written."""
    line = json.dumps(record, allow_nan=False, ensure_ascii=True) + "\n"
    directory, name = os.path.split(log_path)
    try:
        dfd = _open_dir(directory, create=True)
        try:
            fd = os.open(
                name,
                os.O_WRONLY
                | os.O_CREAT
                | os.O_APPEND
                | _NOFOLLOW
                | getattr(os, "O_NONBLOCK", 0)
                | getattr(os, "O_CLOEXEC", 0),
                0o644,
                dir_fd=dfd,
            )
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                    raise UnsafeWrite(errno.EINVAL, "a hard link or not a regular file: not written")
                os.write(fd, line.encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            os.close(dfd)
    except (OSError, ValueError) as exc:
        if getattr(exc, "errno", None) in (errno.ELOOP, errno.ENXIO):
            exc = UnsafeWrite(errno.ELOOP, "a symlink or a FIFO: not written")
        return f"could not write the deletion log {display_name(log_path)}: {getattr(exc, 'strerror', None) or exc}"
    return None
