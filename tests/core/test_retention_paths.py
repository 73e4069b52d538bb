"""The planner's shortcuts against its literal reference.

``classify`` finds each report's kind through a fast path for the common shapes of a run
(a plain number everywhere, a plain number or nothing, a nested attribute Tune never sorts on)
and a trial that never mixes appends and inserts is ranked by a sort. ``plan(..., literal=True)``
takes none of them: every report classified on its own, every trial replayed report by report
through the blocked list (``_RayList``) as Ray's register_checkpoint does. The two must agree on
everything a user sees: what is kept and deleted and why, ranks, values, notes and warnings."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.metrics import MISSING
from ckpt_tui.core.model import TRAIN_V2, TUNE
from ckpt_tui.core.retention import note_text, plan
from ckpt_tui.core.retention.scores import classify, fast_path, metrics_list
from tests.core.test_retention import in_memory_run

finite = st.floats(min_value=-5, max_value=5, allow_nan=False).map(lambda x: round(x, 1))
plain = st.one_of(
    finite, finite, st.integers(-3, 3), st.just(float("nan")), st.sampled_from([float("inf"), float("-inf")])
)
anything = st.one_of(plain, st.booleans(), st.just(10**400), st.sampled_from([None, "x", [1]]))

# One strategy per shape, each aimed at one fast path, and one that mixes everything (the
# report-by-report loop, and Ray's list left unsorted by appends between inserts).
SHAPES = {
    "plain": st.fixed_dictionaries({"m": plain, "g/m": plain}),
    "plain-or-missing": st.one_of(st.fixed_dictionaries({"m": plain}), st.fixed_dictionaries({"other": finite})),
    "nested": st.one_of(
        st.fixed_dictionaries({"g": st.fixed_dictionaries({"m": anything})}),
        st.fixed_dictionaries({"g": st.fixed_dictionaries({"x": finite})}),
        st.fixed_dictionaries({"other": finite}),
    ),
    "mixed": st.one_of(
        st.fixed_dictionaries({"m": anything}),
        st.fixed_dictionaries({"m": plain, "other": finite}),
        st.fixed_dictionaries({"other": finite}),
        st.fixed_dictionaries({"g": st.fixed_dictionaries({"m": anything})}),
        st.fixed_dictionaries({"g/m": anything, "g": st.fixed_dictionaries({"m": plain})}),
        st.fixed_dictionaries({"m": st.fixed_dictionaries({"x": finite})}),
    ),
}


@st.composite
def trials(draw):
    shape = draw(st.sampled_from(sorted(SHAPES)))
    reports = draw(st.lists(SHAPES[shape], max_size=16))
    on_disk = draw(st.sets(st.integers(0, max(len(reports) - 1, 0)))) if draw(st.booleans()) else None
    return shape, reports, on_disk


def same(a, b) -> bool:
    """Equal, NaN equal to NaN (and the same type: 1 and 1.0 and True are told apart)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    trial=trials(),
    k=st.one_of(st.none(), st.integers(1, 6)),
    attr=st.sampled_from([None, "m", "g/m"]),
    order=st.sampled_from(["max", "min"]),
    layout=st.sampled_from([TUNE, TRAIN_V2]),
    pin=st.sets(st.integers(0, 15), max_size=2),
)
def test_each_fast_path_equals_the_literal_replay(trial, k, attr, order, layout, pin):
    shape, reports, on_disk = trial
    config = CheckpointConfig(num_to_keep=k, checkpoint_score_attribute=attr, checkpoint_score_order=order)
    run = in_memory_run(reports, layout, on_disk)
    t = run.trials["t"]
    pinned = [c.path for c in t.checkpoints if c.report.index in pin]

    # The reports classified: the shortcut (if any) and the loop find the same kinds, values,
    # notes and counts, and fail the trial for the same reason.
    train_v2 = layout == TRAIN_V2
    path = fast_path(metrics_list(t), attr, train_v2) if attr is not None else None
    event(f"{shape}: {path[0] if path else 'no attribute' if attr is None else 'report by report'}")
    fast, slow = classify(t, attr, train_v2), classify(t, attr, train_v2, fast=False)
    assert list(fast.kinds) == list(slow.kinds)
    assert all(map(same, fast.values, slow.values)) and len(fast.values) == len(slow.values)
    assert (fast.notes, fast.appended, fast.counts, fast.failing) == (
        slow.notes,
        slow.appended,
        slow.counts,
        slow.failing,
    )

    # The plan: every shortcut against the literal replay of Ray's list.
    got = plan(run, config, pinned)
    want = plan(in_memory_run(reports, layout, on_disk), config, pinned, literal=True)
    assert got.warnings == want.warnings
    assert got.failing_trials == want.failing_trials
    assert (got.checkpoint_count, got.delete_count, got.reclaim_bytes) == (
        want.checkpoint_count,
        want.delete_count,
        want.reclaim_bytes,
    )
    got_rows = [(c.name, got.decisions[c]) for c in got.ordered()]
    want_rows = [(c.name, want.decisions[c]) for c in want.ordered()]
    assert [n for n, _ in got_rows] == [n for n, _ in want_rows]  # the same order, best first
    for (name, d), (_, w) in zip(got_rows, want_rows):
        assert (d.keep, d.code, d.rank, d.of, d.note, d.restore_of) == (
            w.keep,
            w.code,
            w.rank,
            w.of,
            w.note,
            w.restore_of,
        ), name
        assert same(d.value, w.value) or (d.value is MISSING and w.value is MISSING), name
        assert note_text(d, config, layout) == note_text(w, config, layout)
        if d.deleted_by is not None:  # a literal replay on the fast side too: the same story
            assert (d.deleted_by, d.rank_then) == (w.deleted_by, w.rank_then), name
    assert [c.name for c in got.to_delete()] == [c.name for c in want.to_delete()]


@pytest.mark.parametrize(
    "shape, reports, attr, layout, expected",
    [
        ("plain", [{"m": 1.0}, {"m": 2}, {"m": float("nan")}], "m", TUNE, "plain"),
        ("plain", [{"g/m": 1.0}, {"g/m": 0.5}], "g/m", TRAIN_V2, "plain"),
        ("plain-or-missing", [{"m": 1.0}, {"x": 1}, {"m": float("nan")}], "m", TUNE, "plain-or-missing"),
        ("plain-or-missing", [{"x": 1}, {"m": 3}], "m", TRAIN_V2, "plain-or-missing"),
        ("nested", [{"g": {"m": 1.0}}, {"x": 1}, {"g": {"m": "s"}}], "g/m", TUNE, "nested"),
        ("mixed", [{"m": 1.0}, {"m": None}], "m", TUNE, None),
        ("mixed", [{"m": True}], "m", TRAIN_V2, None),
        ("mixed", [{"m": 10**400}], "m", TUNE, None),
        ("mixed", [{"g": {"m": 1.0}}], "g/m", TRAIN_V2, None),  # Train v2 sorts on nested keys
    ],
)
def test_the_property_test_shapes_reach_the_fast_paths(shape, reports, attr, layout, expected):
    """Each shape above takes the shortcut it is meant to test (else the property test would
    compare the loop with itself)."""
    t = in_memory_run(reports, layout).trials["t"]
    found = fast_path(metrics_list(t), attr, layout == TRAIN_V2)
    assert (found[0] if found else None) == expected


def test_literal_plan_replays_even_a_sorted_trial():
    """``literal=True`` really takes the replay (its decisions name the deleting registration),
    and says the same as the sort. By hand, after register_checkpoint: [3.0] -> [1.0, 3.0] ->
    [1.0, 2.0, 3.0] del 1.0 -> [0.5, 2.0, 3.0] (the worst is the latest: nothing deleted) ->
    [0.5, 2.0, 3.0, 4.0] del 0.5 and 2.0."""
    reports = [{"m": v} for v in (3.0, 1.0, 2.0, 0.5, 4.0)]
    config = CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="m", checkpoint_score_order="max")
    run, ref = in_memory_run(reports), in_memory_run(reports)
    got, want = plan(run, config), plan(ref, config, literal=True)
    dropped = [c for c in ref.trials["t"].checkpoints if not want.decisions[c].keep]
    assert [c.name for c in dropped] == ["checkpoint_000001", "checkpoint_000002", "checkpoint_000003"]
    assert [want.decisions[c].deleted_by for c in dropped] == [
        "checkpoint_000002",
        "checkpoint_000004",
        "checkpoint_000004",
    ]
    assert all(got.decisions[c].deleted_by is None for c in run.trials["t"].checkpoints)
    assert sorted(c.name for c in got.to_delete()) == [c.name for c in dropped]
