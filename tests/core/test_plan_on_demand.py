"""A plan ranks each trial when first asked about it (what the app needs to show a new
attribute at once on 100,000 checkpoints). Whatever order the questions come in, the answers
are the eager plan's, and asking about one row ranks only that row's trial."""

from __future__ import annotations

import gc
import weakref

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import PlanRows, plan
from tests.conftest import RAY_RUNS, write_tune_run

CONFIGS = [
    CheckpointConfig(),
    CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min"),
    CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="loss", checkpoint_score_order="max"),
    CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="missing_everywhere"),
    CheckpointConfig(num_to_keep=2),
]


def everything(p) -> tuple:
    """All a plan says, in a comparable form."""
    decisions = [(c.path, d.keep, d.code, d.rank, d.of, d.note, d.deleted_by, d.rank_then) for c, d in p.walk()]
    return (
        decisions,
        p.delete_count,
        p.keep_count,
        p.checkpoint_count,
        p.warnings,
        p.failing_trials,
        sorted(c.path for c in p.to_delete()),
        p.reclaim_bytes,
        p.total_bytes,
    )


@pytest.mark.parametrize("name", ["keep_all", "k3_loss_min", "train_v2_k2_score_max"])
@pytest.mark.parametrize("config", CONFIGS)
def test_on_demand_plan_says_what_the_eager_plan_says(name, config):
    eager = plan(read_run(str(RAY_RUNS / name)), config)
    run = read_run(str(RAY_RUNS / name))
    lazy = plan(run, config, lazy=True)
    rows = lazy.ordered()
    # Ask in the worst order: the last row first, then a count, then everything.
    assert isinstance(rows, PlanRows)
    if len(rows):
        last = rows[-1]
        assert (
            lazy.decisions[last].keep == eager.decisions[next(c for c in eager.ordered() if c.path == last.path)].keep
        )
    assert everything(lazy) == everything(eager)
    assert [c.path for c in rows] == [c.path for c in eager.ordered()]


def test_a_row_ranks_only_its_trial(tmp_path):
    root = write_tune_run(tmp_path / "run", [[{"loss": float(t * 10 + i)} for i in range(5)] for t in range(4)])
    run = read_run(str(root))
    p = plan(run, CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="loss"), lazy=True)
    assert p.ranked_trials == 0 and not p.complete
    rows = p.ordered()
    assert len(rows) == 20  # known without ranking: every trial's checkpoint count
    assert p.ranked_trials == 0
    ckpt = rows[7]  # the third best of the second trial
    assert p.ranked_trials == 1
    assert ckpt.trial_id == list(run.trials)[1]
    assert p.decisions[ckpt].rank == 3 and not p.decisions[ckpt].keep
    assert rows.position(ckpt) == 7
    assert p.ranked_trials == 1
    assert p.delete_count == 4 * 3  # a total ranks the rest: 5 each, top 2 (the newest) kept
    assert p.complete and p.ranked_trials == 4


def test_finish_with_a_budget_goes_a_slice_at_a_time(tmp_path):
    root = write_tune_run(tmp_path / "run", [[{"loss": float(i)} for i in range(3)] for _ in range(5)])
    p = plan(read_run(str(root)), CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="loss"), lazy=True)
    seen = []
    while not p.finish(0.0):  # a spent budget still ranks one trial: every call makes progress
        seen.append(p.ranked_trials)
    assert seen == [1, 2, 3, 4]
    assert p.finish(0.0) and p.delete_count == 5 * 2


def test_plan_sees_the_trials_as_they_were_when_it_was_made(tmp_path):
    """A re-read replaces a Trial in the run: a plan made before ranks the old one, so rows and
    counts it has handed out stay consistent with each other."""
    root = write_tune_run(tmp_path / "run", [[{"loss": float(i)} for i in range(3)] for _ in range(2)])
    run = read_run(str(root))
    p = plan(run, CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="loss"), lazy=True)
    tid = next(iter(run.trials))
    run.trials.pop(tid)
    assert len(p.ordered()) == 6
    assert p.delete_count == 2 * 2


def test_a_dropped_plan_is_freed_without_the_cycle_collector():
    """The app freezes the collector's view of long-lived objects after each plan; that is only
    safe if a plan is freed by reference counting alone."""
    run = read_run(str(RAY_RUNS / "keep_all"))
    gc.collect()
    gc.disable()
    try:
        p = plan(run, CONFIGS[1], lazy=True)
        _ = p.decisions, p.order, p.ordered(), p.delete_count, list(p.walk())
        ref = weakref.ref(p)
        del p, _
        assert ref() is None
    finally:
        gc.enable()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    trials=st.lists(
        st.lists(
            st.one_of(
                st.fixed_dictionaries({"loss": st.floats(-5, 5)}), st.fixed_dictionaries({"other": st.just(1.0)})
            ),
            max_size=6,
        ),
        min_size=1,
        max_size=4,
    ),
    k=st.one_of(st.none(), st.integers(1, 3)),
    order=st.sampled_from(["max", "min"]),
    probe=st.lists(st.integers(0, 30), max_size=5),
)
def test_any_order_of_questions_gives_the_eager_answers(tmp_path_factory, trials, k, order, probe):
    root = write_tune_run(tmp_path_factory.mktemp("run") / "run", trials)
    config = CheckpointConfig(num_to_keep=k, checkpoint_score_attribute="loss", checkpoint_score_order=order)
    eager = plan(read_run(str(root), sizes=False), config)
    lazy = plan(read_run(str(root), sizes=False), config, lazy=True)
    rows = lazy.ordered()
    for i in probe:
        if i < len(rows):
            assert rows.position(rows[i]) == i
    assert everything(lazy) == everything(eager)
