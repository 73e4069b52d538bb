"""The app on real Ray runs with untracked and borrowed checkpoints: the summary, the u key,
the detail pane and deletion through the app all say what --json says."""

from __future__ import annotations

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.readers import read_run
from ckpt_tui.ui.app import CheckpointApp
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from tests.ui.test_ui_app import SIZE, wait_for


def make_app(path, config=None) -> CheckpointApp:
    run = read_run(str(path))
    return CheckpointApp(run, config or run.run_config or CheckpointConfig(), watch=False)


def text_of(widget) -> str:
    return str(widget.render())


async def test_detail_pane_names_the_trial_restoring_from_a_borrowed_checkpoint(ray_run):
    root = ray_run("pbt_borrowed")
    app = make_app(root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 10, what="rows")
        row = next(i for i, c in enumerate(app.table.rows) if "_00001_" in c.trial_id and c.name == "checkpoint_000002")
        app.table.move_cursor(row)
        await wait_for(pilot, lambda: "depends on it" in text_of(app.detail.text_view), what="detail")
        text = text_of(app.detail.text_view)
        assert "Tune restores it from this checkpoint (PBT)" in text
        # the untracked one says so, with the metrics of the report Ray never registered
        row = next(i for i, c in enumerate(app.table.rows) if "_00002_" in c.trial_id and c.name == "checkpoint_000001")
        app.table.move_cursor(row)
        await wait_for(pilot, lambda: "not tracked by Ray" in text_of(app.detail.text_view), what="untracked")
        assert "a report Ray never registered" in text_of(app.detail.text_view)


async def test_u_deletes_untracked_checkpoints_only_when_chosen(ray_run):
    """s5b: the second fit()'s two checkpoints are not in the snapshot. Kept by default; u marks
    the older one for deletion (the newest of the run stays), d deletes it, and u again keeps."""
    root = ray_run("round2/s5b_v2_nan_resume")
    app = make_app(
        root, CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="loss", checkpoint_score_order="min")
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 5 and app.totals_plan is app.plan, what="rows")
        assert app.plan.delete_count == 0
        assert "2 untracked by Ray, 54 B" in text_of(app.summary) and "kept (u to delete)" in text_of(app.summary)
        await pilot.press("u")
        await wait_for(pilot, lambda: app.plan.delete_untracked and app.totals_plan is app.plan, what="replan")
        assert [c.name for c in app.plan.to_delete()] == ["checkpoint_2026-12-01_10-44-52.109498"]
        assert "deleting them (u)" in text_of(app.summary)
        await pilot.press("u")
        await wait_for(pilot, lambda: not app.plan.delete_untracked, what="replan")
        assert app.plan.delete_count == 0
        await pilot.press("u")
        await wait_for(pilot, lambda: app.plan.delete_untracked and app.totals_plan is app.plan, what="replan")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: not (root / "checkpoint_2026-12-01_10-44-52.109498").exists(), what="deleted")
        assert (root / "checkpoint_2026-12-01_10-44-52.189262").exists()
