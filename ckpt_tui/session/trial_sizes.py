"""Per-trial bytes that outlive a plan (the same whatever the order)."""

from __future__ import annotations

from ckpt_tui.core.model import Trial
from ckpt_tui.core.retention import Plan


class TrialSizes:
    """Keyed by the Trial object, which a re-read replaces; cached once every size is known."""

    def __init__(self) -> None:
        self._sizes: dict[str, tuple[Trial, int, int]] = {}  # tid -> (Trial, count, bytes)

    def forget_sizes(self) -> None:
        self._sizes.clear()

    def size(self, trial: Trial) -> tuple[int, bool]:
        """(bytes, every size known) of a trial."""
        cached = self._sizes.get(trial.id)
        if cached is not None and cached[0] is trial and cached[1] == len(trial.checkpoints):
            return cached[2], True
        size = 0
        known = True
        for ckpt in trial.checkpoints:
            if ckpt.size_bytes is None:
                known = False
            else:
                size += ckpt.size_bytes
        if known:
            self._sizes[trial.id] = (trial, len(trial.checkpoints), size)
        return size, known

    def run_size(self, plan: Plan) -> tuple[int, bool]:
        total, all_known = 0, True
        for trial in plan.trials.values():
            size, known = self.size(trial)
            total += size
            all_known = all_known and known
        return total, all_known
