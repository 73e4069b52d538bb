"""A small reference model of Ray 2.60's checkpoint manager, written straight from the rules in
README.md's "Ray's rules" (and Ray's `_CheckpointManager.register_checkpoint`): a literal list, a linear insert,
no shortcuts. The retention replay in ckpt_tui must agree with it on every sequence.

Reporting and registering are separate events here, as they are in Ray: every report that carries
a checkpoint writes its directory, but only a registered one enters the manager's list. A report
whose save was still pending when the run stopped, or whose trial a PBT exploit paused, is never
registered: it pushes nothing out, and nothing ever deletes its directory."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Optional


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


@dataclass
class Manager:
    """Ray's per-trial checkpoint manager: the list (worst first) and the latest."""

    num_to_keep: Optional[int]
    attr: Optional[str]
    order: str = "max"
    train_v2: bool = False
    reports: list = field(default_factory=list)  # every report's metrics, by report index
    kept: list = field(default_factory=list)  # report indices, Ray's list order
    latest: Optional[int] = None
    deleted: list = field(default_factory=list)

    def _score(self, i):
        factor = 1.0 if self.order == "max" else -1.0
        flat = _flatten(self.reports[i])
        value = flat.get(self.attr, float("-inf")) if self.attr else float("-inf")
        if self.train_v2 and value is None:
            # A Train v2 snapshot writes NaN, +inf and -inf as null: read back as NaN
            value = float("nan")
        s = factor * value if isinstance(value, numbers.Number) else None
        if s is None:
            raise RayWouldFail(i)
        return (False, float("-inf")) if math.isnan(s) else (True, s)

    def report(self, metrics: dict) -> int:
        """A report with a checkpoint: its directory is written; not registered yet."""
        self.reports.append(metrics)
        return len(self.reports) - 1

    def register(self, i: int) -> None:
        """register_checkpoint for report ``i``."""
        self.latest = i
        metrics = self.reports[i]
        if self.attr is not None and (self.train_v2 or self.attr in metrics):
            j = 0
            while j < len(self.kept):
                if self._score(self.kept[j]) > self._score(i):
                    break
                j += 1
            self.kept.insert(j, i)
        else:
            self.kept.append(i)
        if self.num_to_keep is not None:
            worst = set(self.kept[: -self.num_to_keep]) - {self.latest}
            self.kept = [x for x in self.kept if x not in worst]
            self.deleted.extend(sorted(worst))

    def on_disk(self) -> list[int]:
        """Report indices whose checkpoint directory is still on disk."""
        gone = set(self.deleted)
        return [i for i in range(len(self.reports)) if i not in gone]


def survivors(
    reports: list[dict], num_to_keep, attr, order="max", train_v2=False, registered: Optional[list[bool]] = None
) -> list[int]:
    """Indices of the reports whose checkpoints Ray leaves on disk, reporting each in order and
    registering those ``registered`` marks (all of them by default)."""
    m = Manager(num_to_keep, attr, order, train_v2)
    for i, metrics in enumerate(reports):
        m.report(metrics)
        if registered is None or registered[i]:
            m.register(i)
    return m.on_disk()
