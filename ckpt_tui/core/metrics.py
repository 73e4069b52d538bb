"""Metric lookup the way Ray does it: flatten nested dicts with '/' between levels."""

from __future__ import annotations

import numbers

MISSING = object()


def flatten(metrics: dict, prefix: str = "", out: dict | None = None) -> dict:
    """Ray's ``flatten_dict(d, delimiter='/')``: nested dicts become 'a/b' keys."""
    if out is None:
        out = {}
    for key, value in metrics.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            # Ray drops an empty nested dict entirely: no key for it at all.
            flatten(value, name, out)
        else:
            out[name] = value
    return out


def lookup(metrics: dict, attr: str):
    """The value Ray's ``flatten_dict(metrics)[attr]`` finds, or MISSING."""
    value = metrics.get(attr, MISSING)
    if value is not MISSING and not isinstance(value, dict):
        return value
    if "/" not in attr:
        # A flattened key without '/' can only come from a top-level non-dict value.
        return MISSING
    # Walk 'a/b/c' directly; only keys that themselves contain '/' need the full flatten.
    node = metrics
    for part in attr.split("/"):
        if type(node) is not dict or part not in node:
            break
        node = node[part]
    else:
        if type(node) is not dict:
            return node
    return flatten(metrics).get(attr, MISSING)


def is_number(value) -> bool:
    """What Ray accepts as a score: ``order * value`` gives a ``numbers.Number``."""
    return isinstance(value, numbers.Number) and not isinstance(value, complex)
