"""Numbers as people read them: the one byte formatter and count formatter every output uses
(the app, ``--prune``, ``--dry-run``, the dialogs). Stdlib only, so the headless modes use it
without importing Textual.

Bytes are decimal (SI), as ``du --si``, ``ls --si`` and most disk tools' totals: ``999 B``,
``45.1 kB``, ``133 kB``, ``1.2 MB``, ``12.5 GB``. One decimal below 100, none from 100 up, so a
figure is at most seven cells (``999 kB`` rounds up to ``1.0 MB``, never ``1000 kB``).
"""

from __future__ import annotations

from typing import Optional

UNKNOWN = "…"  # a size not summed yet
_UNITS = ("kB", "MB", "GB", "TB", "PB", "EB")


def human_bytes(n: Optional[int]) -> str:
    """``n`` bytes in SI units: '0 B', '999 B', '45.1 kB', '133 kB', '1.2 MB'; '…' for None."""
    if n is None:
        return UNKNOWN
    if n < 0:
        return "-" + human_bytes(-n)
    if n < 1000:
        return f"{int(n)} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1000
        # Rounded as shown: 999.96 kB reads "1.0 MB", not "1000 kB".
        if round(value, 1 if value < 99.95 else 0) < 1000 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}" if value < 99.95 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def count(n: int) -> str:
    """A count with thousands separators: '96,033'."""
    return f"{n:,}"


def plural(n: int, word: str, words: Optional[str] = None) -> str:
    """'1 trial', '2 trials', '1,000 trials' (``words``: an irregular plural)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"
