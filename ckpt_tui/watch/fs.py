"""Where file events can't be trusted: network filesystems and inotify limits (Linux)."""

from __future__ import annotations

import os
from typing import Optional

# Filesystems where changes made by another machine (the training nodes) raise no inotify
# events on this one.
NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "9p",
        "virtiofs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "orangefs",
        "pvfs2",
        "davfs",
        "fuse.sshfs",
    }
)
# FUSE filesystems that are local and deliver events (rootless containers, NTFS disks).
LOCAL_FUSE = frozenset({"fuse.fuse-overlayfs", "fuseblk", "fuse.lxcfs"})


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out = []
    i = 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def filesystem_type(path: str, mountinfo: Optional[str] = None) -> Optional[str]:
    """The type of the filesystem holding ``path`` (from /proc/self/mountinfo), or None."""
    if mountinfo is None:
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
                mountinfo = f.read()
        except OSError:
            return None
    path = os.path.realpath(path)
    best: Optional[tuple[int, str]] = None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        mount_point = _unescape(fields[4])
        fstype = right.split()[0]
        inside = path == mount_point or mount_point == "/" or path.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) >= best[0]):
            best = (len(mount_point), fstype)
    return best[1] if best else None


def is_network_fs(fstype: Optional[str]) -> bool:
    if not fstype:
        return False
    if fstype in LOCAL_FUSE:
        return False
    return fstype in NETWORK_FS or fstype.startswith("fuse.") or fstype == "fuse"


def inotify_watch_count(stop_at: Optional[int] = None) -> Optional[int]:
    """Inotify watches this process holds (every inotify fd), or None where /proc can't say.
    Counting stops at ``stop_at``."""
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return None
    total = 0
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("inotify wd:"):
                        total += 1
                        if stop_at is not None and total >= stop_at:
                            return total
        except OSError:
            continue
    return total


def max_user_watches() -> Optional[int]:
    try:
        with open("/proc/sys/fs/inotify/max_user_watches", encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None
