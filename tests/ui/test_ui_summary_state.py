"""The Summary widget draws one SummaryState set on its reactive ``state``; the app builds the
state from the session (the totals of the plan, the view's scope)."""

from __future__ import annotations

import dataclasses

from ckpt_tui.session.summary_state import SummaryState
from tests.ui.test_ui_app import K3_MIN, SIZE, copy_run, make_app, wait_for


async def test_the_summary_shows_the_state_the_app_sets_from_the_session(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app._sizes_settled and app.totals_plan is app.plan, what="totals")
        state = app.summary.state
        assert isinstance(state, SummaryState)
        assert (state.kept, state.delete) == (app.plan.keep_count, app.plan.delete_count)
        assert state.trials == len(app.run_model.trials) and state.scope == "all trials"
        assert f"✗ {app.plan.delete_count} to delete" in str(app.summary.content)

        # A new state redraws the widget: nothing else is called.
        app.summary.state = dataclasses.replace(state, delete=None, scope="trial x", warnings=2)
        text = str(app.summary.content)
        assert "✗ … to delete" in text and "trial x" in text and "! 2 warnings (w)" in text

        # The app's next update puts the session's figures back.
        await pilot.press("plus")
        await wait_for(
            pilot,
            lambda: app.summary.state.delete == app.plan.delete_count and app.totals_plan is app.plan,
            what="the re-planned totals",
        )
        assert app.summary.state.config_line.startswith("CheckpointConfig(num_to_keep=4")
