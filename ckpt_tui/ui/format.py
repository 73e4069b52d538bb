"""Text for numbers, sizes, ages and names: shared by every widget, no Textual import."""

from __future__ import annotations

import math
import os
import re
from functools import lru_cache

from ckpt_tui.core.metrics import MISSING, is_number
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.core.units import count, human_bytes, plural  # noqa: F401  (one formatter for every output)

# Tune trial dir: <trainable>_<5 hex id>_<5 digit counter>_<tag>_<date>
_TUNE_TRIAL_RE = re.compile(
    r"^(?P<trainable>.+?)_(?P<id>[0-9a-f]{5})_(?P<num>\d{5})_(?P<tag>.*?)_?\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}$"
)


@lru_cache(maxsize=65536)  # asked for every visible row and every trial at each re-plan
def short_trial(trial_id: str) -> str:
    """A Tune trial dir name without the trainable and date: '00000_0_seed=1'."""
    m = _TUNE_TRIAL_RE.match(trial_id)
    if not m:
        return terminal_safe(trial_id)
    tag = m.group("tag")
    return terminal_safe(f"{m.group('num')}_{tag}" if tag else m.group("num"))


def short_count(n: int) -> str:
    """A count in at most five characters: 9999, 100k, 12M (rounded down)."""
    if n < 10_000:
        return str(n)
    if n < 10_000_000:
        return f"{n // 1000}k"
    return f"{n // 1_000_000}M"


def human_age(seconds: float) -> str:
    """'42s', '5m', '3h', '12d': short enough for a column."""
    s = max(0.0, seconds)
    if s < 60:
        return f"{int(s)}s"
    if s < 3600:
        return f"{int(s // 60)}m"
    if s < 86400:
        return f"{int(s // 3600)}h"
    return f"{int(s // 86400)}d"


def age_since(now: float, mtime) -> str:
    """A checkpoint's age; '…' until the sizing pass has read its files' mtimes."""
    return "…" if mtime is None else human_age(now - mtime)


def fast_is_number(value) -> bool:
    """``is_number`` with the common cases first: an ABC isinstance check is slow in a loop."""
    t = type(value)
    if t is float or t is int:
        return True
    if t is str or t is bool or value is None:
        return t is bool
    return is_number(value)


def metric_text(value, width: int = 9) -> str:
    """A metric value as the table shows it: numbers in at most ``width`` chars."""
    if value is MISSING:
        return "—"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if fast_is_number(value):
        f = float(value)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        if isinstance(value, int):
            text = str(value)
            return text if len(text) <= width else f"{f:.{max(1, width - 6)}g}"
        text = f"{f:.4g}"
        return text if len(text) <= width else f"{f:.{max(1, width - 6)}g}"
    text = terminal_safe(str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


def relative_path(path: str, root: str, shown_root: str) -> str:
    """``path`` under ``shown_root`` (the run root as the user sees it), safe to print."""
    return terminal_safe(_relative_path(path, root, shown_root))


def _relative_path(path: str, root: str, shown_root: str) -> str:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    if rel.startswith(".."):
        return path
    return os.path.join(shown_root, rel) if rel != "." else shown_root


def home_short(path: str) -> str:
    home = os.path.expanduser("~")
    if home and home != "/" and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


def fit(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` cells with an ellipsis (names are mostly ASCII)."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…"


def config_display(config) -> str:
    """The ``CheckpointConfig(...)`` line as the summary shows it: ``to_python()`` (only what
    differs from Ray's defaults), plus the score order whenever a score attribute is set, so
    which way the ranking goes is always on screen (``"max"`` is the default, and so left out
    of the copied line)."""
    line = config.to_python()
    if not config.checkpoint_score_attribute or "checkpoint_score_order=" in line:
        return line
    from ckpt_tui.core.config import _py_literal

    attr = f"checkpoint_score_attribute={_py_literal(config.checkpoint_score_attribute)}"
    return line.replace(attr, f"{attr}, checkpoint_score_order={_py_literal(config.checkpoint_score_order)}", 1)
