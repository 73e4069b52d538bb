"""The run's flattened metric keys, for the attribute and column choosers."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Optional

from ckpt_tui.core.metrics import flatten, is_number
from ckpt_tui.core.model import Run, Trial


def trial_metric_keys(trial: Trial) -> dict[str, bool]:
    """Flattened metric keys of one trial's reports -> whether any value is a number."""
    numeric: dict[str, bool] = {}
    seen_shapes: set = set()
    for report in trial.reports:
        metrics = report.metrics
        # Reports of one trainable mostly share a shape: flatten each shape once. A nested
        # dict's shape is its flattened keys (two {"eval": {...}} can hold different keys).
        types = tuple(map(type, metrics.values()))
        flat = flatten(metrics) if dict in types else metrics
        shape = (tuple(flat), types if flat is metrics else tuple(map(type, flat.values())))
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        for key, value in flat.items():
            numeric[key] = numeric.get(key, False) or is_number(value)
    return numeric


class MetricKeys:
    """(key, numeric) of every report of the run, in the order a user wants them: the run's own
    attribute, their numeric metrics, the numeric bookkeeping (``is_bookkeeping``), the rest.
    Per-trial keys are cached by Trial object; ``forget`` after the run changed."""

    def __init__(self, is_bookkeeping: Callable[[str], bool]) -> None:
        self._is_bookkeeping = is_bookkeeping
        self._cache: Optional[list[tuple[str, bool]]] = None
        self._trial_keys: dict[str, tuple[Trial, dict[str, bool]]] = {}

    def forget(self) -> None:
        self._cache = None

    def keys(self, run: Run, lock: AbstractContextManager) -> list[tuple[str, bool]]:
        """``lock``: the run's lock, held while the trial dict is read."""
        if self._cache is None:
            numeric: dict[str, bool] = {}
            with lock:
                for tid, trial in run.trials.items():
                    cached = self._trial_keys.get(tid)
                    if cached is None or cached[0] is not trial:
                        cached = (trial, trial_metric_keys(trial))
                        self._trial_keys[tid] = cached
                    for key, is_num in cached[1].items():
                        numeric[key] = numeric.get(key, False) or is_num
            own = run.run_config.checkpoint_score_attribute if run.run_config else None
            bookkeeping = self._is_bookkeeping

            def rank(key: str) -> int:
                if key == own:
                    return 0
                if numeric[key] and not bookkeeping(key):
                    return 1
                if numeric[key]:
                    return 2
                return 3

            self._cache = [(k, numeric[k]) for k in sorted(numeric, key=rank)]
        return self._cache
