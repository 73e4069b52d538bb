"""Text from a run, made safe for a terminal.

Directory names, metric keys and the score attribute come from whoever wrote the run. Printed
as they are, a name holding ``ESC [ 2 J`` clears the screen, one holding ``ESC ] 0 ;`` retitles
the terminal, a carriage return or a right-to-left override hides which path is which.
``terminal_safe`` escapes every such character, visibly and one way only:

* C0 controls, DEL and C1 controls -> ``\\xNN`` (``\\t``, ``\\n``, ``\\r`` by name);
* bytes that are not UTF-8 (kept by Python as lone surrogates, ``surrogateescape``) ->
  ``\\xNN`` of the byte itself, so the name reads as ``ls -b`` would show it;
* Unicode format controls that reorder or hide text (bidi overrides and isolates, zero-width
  characters, the line and paragraph separators) and any other lone surrogate -> ``\\uNNNN``.

Everything else, non-ASCII letters included, is left as it is. ``--json`` does not use this:
its strings stay exact (JSON escapes them), with non-UTF-8 names also given as bytes.
Stdlib only.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code <= 0x9F:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def terminal_safe(text) -> str:
    """``text`` with every character that could act on a terminal escaped (see the module)."""
    if not isinstance(text, str):
        text = str(text)
    if _UNSAFE.search(text) is None:
        return text  # the common case: nothing to escape, no copy
    return _UNSAFE.sub(_escape, text)


__all__ = ["terminal_safe"]
