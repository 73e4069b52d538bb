"""What a user sees when the app itself fails: one line, never a traceback.

Textual's default is to print a full traceback (with locals) on an unhandled exception. The
traceback still matters to us, so it goes to a file the line names."""

from __future__ import annotations

import os
import tempfile
import traceback
from typing import Optional


def write_crash_report(error: BaseException) -> Optional[str]:
    """Write the traceback to a file in the temp dir; its path, or None when it can't be written."""
    try:
        fd, path = tempfile.mkstemp(prefix="ckpt-tui-crash-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write("".join(traceback.format_exception(type(error), error, error.__traceback__)))
        return path
    except OSError:
        return None


def crash_line(error: BaseException, report: Optional[str]) -> str:
    message = str(error).splitlines()[0] if str(error) else ""
    where = f" (details in {report})" if report else ""
    return f"ckpt-tui: internal error: {type(error).__name__}{': ' + message if message else ''}{where}"
