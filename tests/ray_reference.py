"""A small reference model of Ray 2.60's checkpoint manager, written straight from the rules in
DESIGN.md (and Ray's `_CheckpointManager.register_checkpoint`): a literal list, a linear insert,
no shortcuts. The retention replay in ckpt_tui must agree with it on every sequence."""

from __future__ import annotations

import math
import numbers


class RayWouldFail(Exception):
    pass


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        name = f"{prefix}/{k}" if prefix else k
        if isinstance(v, dict):
            out.update(_flatten(v, name))
        else:
            out[name] = v
    return out


def survivors(reports: list[dict], num_to_keep, attr, order="max", train_v2=False) -> list[int]:
    """Indices of the reports whose checkpoints Ray leaves on disk, registering them in order."""
    factor = 1.0 if order == "max" else -1.0

    def score(i):
        flat = _flatten(reports[i])
        value = flat.get(attr, float("-inf")) if attr else float("-inf")
        s = factor * value if isinstance(value, numbers.Number) else None
        if s is None:
            raise RayWouldFail(i)
        return (False, float("-inf")) if math.isnan(s) else (True, s)

    kept: list[int] = []
    for i, metrics in enumerate(reports):
        latest = i
        sort_insert = attr is not None and (train_v2 or attr in metrics)
        if sort_insert:
            j = 0
            while j < len(kept):
                if score(kept[j]) > score(i):
                    break
                j += 1
            kept.insert(j, i)
        else:
            kept.append(i)
        if num_to_keep is not None:
            worst = set(kept[:-num_to_keep]) - {latest}
            kept = [x for x in kept if x not in worst]
    return sorted(kept)
