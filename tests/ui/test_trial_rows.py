"""The trial pane's rows: a real Sequence of TrialRow over a plan (row 0 is "all trials")."""

from __future__ import annotations

import pytest

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan
from ckpt_tui.ui.trial_rows import TrialRows, TrialStats
from tests.conftest import RAY_RUNS


def _rows() -> TrialRows:
    run = read_run(str(RAY_RUNS / "k3_loss_min"), sizes=True)
    config = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")
    return TrialRows(plan(run, config), TrialStats())


def test_rows_index_like_a_sequence():
    rows = _rows()
    assert len(rows) == len(rows.ids) + 1 >= 3
    assert rows[0].trial_id is None  # "all trials"
    assert [r.trial_id for r in rows][1:] == rows.ids
    assert rows[-1] is rows[len(rows) - 1]  # built once, then cached
    assert rows.index_of(rows.ids[1]) == 2
    with pytest.raises(IndexError):
        rows[len(rows)]
    with pytest.raises(IndexError):
        rows[-len(rows) - 1]


def test_a_slice_is_the_rows_it_names():
    rows = _rows()
    assert rows[1:] == [rows[i] for i in range(1, len(rows))]
    assert rows[::-1] == [rows[i] for i in range(len(rows) - 1, -1, -1)]
    assert rows[5:2] == []
