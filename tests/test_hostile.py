"""Hostile filesystems (issue 10): run directories prepared to mislead ckpt-tui. Each test
failed before its fix; the rows recorded here are the README's fault table for them."""

from __future__ import annotations

import random
import time

import pytest

from ckpt_tui.core import retention
from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import TUNE, Checkpoint, Report, Run, Trial
from ckpt_tui.core.retention import plan
from tests.ray_reference import survivors
from tests.test_deletion import record


def one_trial(metrics_list) -> Run:
    trial = Trial(id="t", path="/r/t")
    for i, metrics in enumerate(metrics_list):
        report = Report(i, f"checkpoint_{i:06d}", metrics, i + 1, i + 1)
        trial.reports.append(report)
        trial.checkpoints.append(Checkpoint("t", report.checkpoint_name, "/r/t/" + report.checkpoint_name,
                                            1, 0.0, report))
    return Run(root="/r", layout=TUNE, trials={"t": trial})


def every_fourth_missing(n: int, seed: int = 0) -> list[dict]:
    rnd = random.Random(seed)
    return [{"training_iteration": i + 1} if i % 4 == 3 else {"training_iteration": i + 1, "acc": rnd.random()}
            for i in range(n)]


# --- 7. the replay is O(n log n) whatever num_to_keep is ------------------------------------


def test_replay_of_a_long_unsorted_trial_is_fast_whatever_num_to_keep():
    """40,000 reports, acc missing from every fourth, max, keep 20,000: Ray's list is unsorted,
    so the trial is replayed report by report. It took 42 s; now well under a second (the
    bound leaves room for a loaded machine)."""
    run = one_trial(every_fourth_missing(40_000))
    config = CheckpointConfig(num_to_keep=20_000, checkpoint_score_attribute="acc", checkpoint_score_order="max")
    t0 = time.perf_counter()
    p = plan(run, config)
    assert p.delete_count == 20_000
    seconds = time.perf_counter() - t0
    assert seconds < 6, seconds
    assert p.decisions[run.trials["t"].checkpoints[-1]].keep  # the latest
    # Exactness at a size the literal reference can check in a moment: the same shape.
    small = one_trial(every_fourth_missing(600, seed=1))
    sp = plan(small, config.with_changes(num_to_keep=300))
    kept = sorted(c.report.index for c in small.trials["t"].checkpoints if sp.decisions[c].keep)
    assert kept == survivors([r.metrics for r in small.trials["t"].reports], 300, "acc", "max")
    record("one trial of 40,000 reports, every fourth without the metric, keep 20,000 (max)",
           f"planned in {seconds:.2f} s (was 42 s), exactly as Ray's list", 0)


@pytest.mark.parametrize("block", [1, 2, 3])
def test_blocked_replay_matches_ray_on_random_sequences(monkeypatch, block):
    """Tiny blocks make every split, merge and boundary case of the blocked list happen; the
    result must still be the literal list's, report for report."""
    monkeypatch.setattr(retention, "_BLOCK", block)
    rnd = random.Random(block)
    for _ in range(300):
        n = rnd.randint(1, 60)
        values = [rnd.choice([0.0, 1.0, 2.0, 3.0, float("nan"), rnd.random()]) for _ in range(n)]
        reports = [{} if rnd.random() < 0.3 else {"m": v} for v in values]
        order = rnd.choice(["max", "min"])
        k = rnd.randint(1, n + 1)
        run = one_trial(reports)
        p = plan(run, CheckpointConfig(num_to_keep=k, checkpoint_score_attribute="m", checkpoint_score_order=order))
        kept = sorted(c.report.index for c in run.trials["t"].checkpoints if p.decisions[c].keep)
        assert kept == survivors(reports, k, "m", order), (reports, k, order)
