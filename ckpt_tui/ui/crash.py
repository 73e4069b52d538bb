"""What a user sees when the app itself fails: one line, never a traceback.

Textual's default is to print a full traceback (with locals) on an unhandled exception. The
traceback still matters to us, so it goes to a file the line names."""

from __future__ import annotations

import os
import tempfile
import traceback
from typing import Optional


def format_report(error: BaseException) -> str:
    """The full traceback of ``error``. A worker's failure reaches the app as a WorkerFailed
    that was never raised (no traceback of its own): the error it wraps is written too."""
    parts = ["".join(traceback.format_exception(type(error), error, error.__traceback__))]
    inner = getattr(error, "error", None)
    seen = {id(error)}
    while isinstance(inner, BaseException) and id(inner) not in seen:
        seen.add(id(inner))
        parts.append("\nThe error it wraps:\n")
        parts.append("".join(traceback.format_exception(type(inner), inner, inner.__traceback__)))
        inner = getattr(inner, "error", None)
    return "".join(parts)


def write_crash_report(error: BaseException) -> Optional[str]:
    """Write the traceback to a file in the temp dir; its path, or None when it can't be written."""
    try:
        fd, path = tempfile.mkstemp(prefix="ckpt-tui-crash-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(format_report(error))
        return path
    except OSError:
        return None


def crash_line(error: BaseException, report: Optional[str]) -> str:
    inner = getattr(error, "error", None)
    if isinstance(inner, BaseException):  # a worker's WorkerFailed: name what it wraps
        error = inner
    message = str(error).splitlines()[0] if str(error) else ""
    where = f" (details in {report})" if report else ""
    return f"ckpt-tui: internal error: {type(error).__name__}{': ' + message if message else ''}{where}"
