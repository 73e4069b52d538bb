"""Leftovers of interrupted deletions: aside dirs and temp files, found and cleaned."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Optional

from ckpt_tui.core.deletion.checks import _inside, mount_points_in
from ckpt_tui.core.deletion.fingerprint import fingerprint
from ckpt_tui.core.deletion.journal import append_log
from ckpt_tui.core.deletion.records import Outcome, _Skip
from ckpt_tui.core.deletion.remove import _Progress, remove_tree
from ckpt_tui.core.disk import display_name
from ckpt_tui.core.model import ASIDE_PREFIX, TMP_MARK, Run, is_aside, is_leftover
from ckpt_tui.core.storage import is_url

# ---------------------------------------------------------------------------------------------
# Leftovers of interrupted deletions

_ASIDE_RE = re.compile(r"^(?P<name>.*)\.(?P<pid>\d+)\.(?P<ns>\d+)(-\d+)?$", re.DOTALL)


_TMP_RE = re.compile(r"^\.(?P<name>.*)" + re.escape(TMP_MARK) + r"(?P<pid>\d+)(\.[0-9a-f]+)?$", re.DOTALL)


def parse_aside(name: str) -> Optional[tuple[str, int, float]]:
    """(original name, pid, time in seconds or 0) of an aside name or a leftover temp file,
    or None."""
    if not is_aside(name):
        m = _TMP_RE.match(name) if is_leftover(name) else None
        return (m.group("name"), int(m.group("pid")), 0.0) if m else None
    m = _ASIDE_RE.match(name[len(ASIDE_PREFIX) :])
    if not m:
        return None
    return m.group("name"), int(m.group("pid")), int(m.group("ns")) / 1e9


def find_leftovers(run: Run) -> list[str]:
    if is_url(run.root):  # nothing is moved aside on an object store (core/deletion_remote.py)
        return []
    return _find_local_leftovers(run)


def _find_local_leftovers(run: Run) -> list[str]:
    """Aside paths from interrupted deletions that are still on disk, inside the run."""
    root = os.path.realpath(run.root)
    out = []
    for p in dict.fromkeys(run.leftovers):
        if not is_leftover(os.path.basename(p)) or not os.path.lexists(p):
            continue
        if not _inside(os.path.realpath(os.path.dirname(p)), root):
            continue
        out.append(p)
    return sorted(out)


def leftover_size(path: str) -> int:
    return fingerprint(path).bytes


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    # A zombie still answers kill(0); it is not deleting anything.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                return False
    except (OSError, IndexError):
        pass
    return True


def clean_leftovers(paths: Iterable[str], root: Optional[str] = None, log_path: Optional[str] = None) -> list[Outcome]:
    """Finish interrupted deletions: remove each aside path (links unlinked, never followed).

    Only names carrying ASIDE_PREFIX are touched; with ``root``, only those inside it. One
    outcome per path; never raises for one path's failure.
    """
    outcomes = []
    root_real = os.path.realpath(root) if root else None
    for path in paths:
        name = os.path.basename(path)
        parsed = parse_aside(name)
        original = parsed[0] if parsed else name
        try:
            if not is_leftover(name):
                raise _Skip("not a ckpt-tui leftover (no aside prefix or temp-file mark): not touched")
            if root_real and not _inside(os.path.realpath(os.path.dirname(path)), root_real):
                raise _Skip("outside the run directory: not touched")
            if not os.path.lexists(path):
                raise _Skip("no longer on disk")
            if parsed and _pid_alive(parsed[1]):
                raise _Skip(f"process {parsed[1]} may still be deleting it: try again later")
            mounted = mount_points_in(path)
            if mounted:
                raise _Skip(f"{display_name(mounted[0])} is a mount point inside it: nothing in it is touched")
            progress = _Progress()
            try:
                remove_tree(path, progress)
            except OSError as exc:
                raise _Skip(f"could not remove it all: {exc.strerror or exc}") from None
            outcome = Outcome(path, "", original, True, "leftover of an interrupted deletion", progress.bytes)
            if log_path:
                append_log(
                    log_path,
                    {
                        "when": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                        "time": time.time(),
                        "event": "leftover-removed",
                        "path": display_name(path),
                        "name": display_name(original),
                        "bytes": progress.bytes,
                        "pid": os.getpid(),
                        "reason": "leftover of an interrupted deletion",
                    },
                )
        except _Skip as skip:
            outcome = Outcome(path, "", original, False, str(skip), 0, aside=path)
        except Exception as exc:  # noqa: BLE001 - one leftover's failure never stops the rest
            outcome = Outcome(
                path, "", original, False, f"unexpected error: {type(exc).__name__}: {exc}", 0, aside=path
            )
        outcomes.append(outcome)
    return outcomes
