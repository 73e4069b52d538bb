"""A new plan reaches the screen before every trial is ranked: the rows in view at once, the
run's totals once the rest is ranked in slices between frames. Here the slices are made as
small as they go (one trial each, slowly) so the in-between state can be looked at."""

from __future__ import annotations

import pytest

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan
from ckpt_tui.session import planning as planning_module  # the plan slicing moved to the session
from tests.conftest import write_tune_run
from tests.ui.test_ui_app import K3_MIN, SIZE, make_app, marks, wait_for

TRIALS = 60  # more than the trial pane shows: some are ranked only after the first frame


@pytest.fixture
def slices(monkeypatch):
    """One trial per slice; ``slices(gap)`` sets the pause between two slices: long while the
    test looks at the in-between state, short to let the ranking finish."""
    monkeypatch.setattr(planning_module, "PLAN_FIRST_SLICE_SECONDS", 0.0)
    monkeypatch.setattr(planning_module, "PLAN_SLICE_SECONDS", 0.0)

    def gap(seconds: float) -> None:
        monkeypatch.setattr(planning_module, "PLAN_SLICE_GAP", seconds)

    gap(0.001)
    return gap


def many_trials(tmp_path):
    # loss goes down and back up: min and max keep different checkpoints
    return write_tune_run(
        tmp_path / "run", [[{"loss": float((i - 2) ** 2 + t)} for i in range(5)] for t in range(TRIALS)]
    )


def summary_text(app) -> str:
    return str(app.summary.content)


async def first_plan_then_slow_slices(pilot, app, slices) -> None:
    await wait_for(pilot, lambda: app.totals_plan is app.plan, what="the first plan's totals")
    slices(1.0)


async def let_the_ranking_finish(pilot, app, slices) -> None:
    slices(0.001)
    await wait_for(pilot, lambda: app.totals_plan is app.plan, what="totals")


def eager(path, config: CheckpointConfig):
    return plan(read_run(str(path), sizes=False), config)


async def test_rows_show_the_new_plan_at_once_and_totals_follow(tmp_path, slices):
    path = many_trials(tmp_path)
    app = make_app(path, K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await first_plan_then_slow_slices(pilot, app, slices)
        await pilot.press("minus")
        assert app.config.num_to_keep == 2
        assert not app.plan.complete and app.totals_plan is not app.plan
        assert "… kept" in summary_text(app) and "… to delete" in summary_text(app)
        expected = eager(path, K3_MIN.with_changes(num_to_keep=2))
        truth = {c.path: d.keep for c, d in expected.walk()}
        # Every row on screen already shows the new plan's mark.
        table = app.table
        assert table.plan is app.plan
        top = int(table.scroll_offset.y)
        for i in range(top, min(table.row_count, top + table.size.height - 1)):
            ckpt = table.rows[i]
            assert app.plan.decisions[ckpt].keep == truth[ckpt.path]
        await let_the_ranking_finish(pilot, app, slices)
        assert f"✓ {expected.keep_count} kept" in summary_text(app)
        assert f"✗ {expected.delete_count} to delete" in summary_text(app)
        assert marks(app) == truth


async def test_a_key_while_ranking_starts_over_and_ends_with_the_right_totals(tmp_path, slices):
    path = many_trials(tmp_path)
    app = make_app(path, K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await first_plan_then_slow_slices(pilot, app, slices)
        await pilot.press("o")
        superseded = app.plan
        assert not superseded.complete
        await pilot.press("minus")
        assert app.plan is not superseded
        await let_the_ranking_finish(pilot, app, slices)
        expected = eager(path, K3_MIN.with_changes(num_to_keep=2, checkpoint_score_order="max"))
        assert f"✓ {expected.keep_count} kept" in summary_text(app)
        assert marks(app) == {c.path: d.keep for c, d in expected.walk()}
        assert app.trial_list.rows[0].kept == expected.keep_count  # the "all trials" row


async def test_delete_while_ranking_asks_about_the_whole_plan(tmp_path, slices):
    """d before the totals are in: the dialog counts every checkpoint the plan marks."""
    from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen

    path = many_trials(tmp_path)
    app = make_app(path, K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await first_plan_then_slow_slices(pilot, app, slices)
        await pilot.press("minus")
        assert not app.plan.complete
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="the dialog")
        expected = eager(path, K3_MIN.with_changes(num_to_keep=2))
        assert app.screen.count == expected.delete_count
        await pilot.press("escape")


async def test_a_dismissed_dialog_is_not_frozen_alive_with_the_new_rankings(tmp_path, slices):
    """After new rankings the app freezes the collector's view (so full collections never walk
    them); it collects first, or garbage such as a dismissed dialog would stay for good."""
    import weakref

    from ckpt_tui.ui.screens.choose_attribute import ChooseAttributeScreen

    app = make_app(many_trials(tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.totals_plan is app.plan, what="the first plan's totals")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChooseAttributeScreen), what="the attribute list")
        dialog = weakref.ref(app.screen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChooseAttributeScreen), what="the list gone")
        await pilot.pause(0.2)
        app.set_config(checkpoint_score_attribute="training_iteration")  # never ranked before
        assert not app.plan.complete
        await wait_for(pilot, lambda: app.totals_plan is app.plan, what="totals")
        assert dialog() is None
