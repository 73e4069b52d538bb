"""Pilot tests of issue 11's app behaviour: the palette runs every action, q / ctrl+c quit (and
ask during a deletion, which then stops between checkpoints), the session log keeps every skip
and failure, escape clears the filter, and the cursor stays put when its own trial is re-read."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Input, OptionList

import ckpt_tui.core.deletion as deletion
from ckpt_tui.ui.commands import palette_label
from ckpt_tui.ui.keys import ACTIONS
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from ckpt_tui.ui.screens.quit_deleting import QuitWhileDeletingScreen
from ckpt_tui.ui.screens.session_log import SessionLogScreen
from tests.conftest import mark_running
from tests.ui.test_ui_app import K3_MIN, SIZE, _append_checkpoint, copy_run, make_app, wait_for

# ---- the palette ---------------------------------------------------------------------------


async def test_palette_opens_and_runs_every_action(tmp_path, monkeypatch):
    """ctrl+p used to crash the app: its labels ("Filter  [/]") were read as markup. Each
    action is chosen by typing its label and pressing enter, as a user would."""
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    ran: list[str] = []
    for a in ACTIONS:
        original = getattr(app, f"action_{a.action}")

        def spy(*args, _name=a.action, _original=original):
            ran.append(_name)
            return _original(*args)

        monkeypatch.setattr(app, f"action_{a.action}", spy)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        for a in ACTIONS:
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
            palette = app.screen
            label = palette_label(a.title, a.shown)
            palette.query_one(Input).value = label  # as if typed
            options = palette.query_one(OptionList)
            await wait_for(
                pilot,
                lambda: options.option_count and str(options.get_option_at_index(0).prompt).startswith(label),
                what=f"{label!r} first in the palette",
            )
            await pilot.press("enter")
            await wait_for(pilot, lambda: ran and ran[-1] == a.action, what=f"{a.action} from the palette")
            if a.action == "quit":
                break
            await wait_for(pilot, lambda: app.screen is not palette, what="the palette to close")
            while app.screen is not app.main_screen:  # a dialog the action opened
                app.pop_screen()
                await pilot.pause()
        await wait_for(pilot, lambda: not app.is_running, what="quit from the palette")
    assert ran == [a.action for a in ACTIONS]
    assert app.return_code == 0


# ---- quitting ------------------------------------------------------------------------------


async def test_ctrl_c_quits_an_idle_app_like_q(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("slash")  # even from the filter input, where ctrl+c would copy
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    assert app.return_code == 0
    assert app.exit_lines == []


class Paced:
    """Deletion one checkpoint at a time, when the test says so: ``_delete_one`` is the real
    one, run only after ``step()``."""

    def __init__(self, monkeypatch):
        self.go = threading.Semaphore(0)
        self.entered = 0  # checkpoints begun
        self.done = 0  # checkpoints finished
        real = deletion._delete_one

        def paced(ctx, item):
            self.entered += 1
            self.go.acquire(timeout=30)
            try:
                return real(ctx, item)
            finally:
                self.done += 1

        monkeypatch.setattr(deletion.flow, "_delete_one", paced)

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.go.release()


async def _start_deletion(pilot, app) -> None:
    await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirm dialog")
    await pilot.press("y")
    await wait_for(pilot, lambda: app.delete_running, what="the deletion to start")


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_quit_during_a_deletion_asks_and_stops_between_checkpoints(tmp_path, monkeypatch, key):
    root = copy_run("keep_all", tmp_path)
    before = {str(p) for p in root.glob("*/checkpoint_*")}
    app = make_app(root, K3_MIN)
    paced = Paced(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deletion(pilot, app)
        planned = 13
        paced.step(2)
        await wait_for(pilot, lambda: paced.done == 2, what="two checkpoints deleted")
        await pilot.press(key)
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileDeletingScreen), what="the question")
        # n keeps deleting
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, QuitWhileDeletingScreen), what="question gone")
        assert app.is_running and app.delete_running
        paced.step(1)
        await wait_for(pilot, lambda: paced.done == 3, what="a third checkpoint deleted")
        # escape keeps deleting too
        await pilot.press(key)
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileDeletingScreen), what="the question")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, QuitWhileDeletingScreen), what="question gone")
        # the fourth is in hand (begun) when the user says y: it is finished, no other begins
        await wait_for(pilot, lambda: paced.entered == 4, what="a fourth in hand")
        await pilot.press(key)
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileDeletingScreen), what="the question")
        await pilot.press("y")
        paced.step(planned)  # were the loop to go on, these would let it
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    assert app.return_code == 0
    after = {str(p) for p in root.glob("*/checkpoint_*")}
    assert len(before - after) == 4 == paced.done == paced.entered
    assert len(app.exit_lines) == 1
    line = app.exit_lines[0]
    assert "deleted 4 of 13 checkpoints (" in line and line.endswith("; stopped at your request")


async def test_a_second_ctrl_c_while_asked_stops_and_quits(tmp_path, monkeypatch):
    root = copy_run("keep_all", tmp_path)
    app = make_app(root, K3_MIN)
    paced = Paced(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deletion(pilot, app)
        paced.step(1)
        await wait_for(pilot, lambda: paced.done == 1, what="one checkpoint deleted")
        await wait_for(pilot, lambda: paced.entered == 2, what="a second in hand")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileDeletingScreen), what="the question")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.quit_when_stopped, what="the stop")
        await pilot.press("ctrl+c")  # a third: still no harm, no second question
        assert not isinstance(app.screen, QuitWhileDeletingScreen)
        paced.step(20)
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    assert app.return_code == 0
    assert paced.done == paced.entered == 2  # the one in hand when asked is finished, no other
    assert app.exit_lines[0].startswith(f"ckpt-tui: deleted {paced.done} of 13 checkpoints")


async def test_a_stopped_deletion_names_what_it_skipped_on_exit(tmp_path, monkeypatch):
    root = copy_run("keep_all", tmp_path)
    app = make_app(root, K3_MIN)
    paced = Paced(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirm dialog")
        for ckpt in app.plan.to_delete():  # every one changes after the dialog was prepared
            (Path(ckpt.path) / "model.bin").write_bytes(b"changed")
        await pilot.press("y")
        paced.step(1)
        await wait_for(pilot, lambda: paced.done == 1 and paced.entered == 2, what="one skipped, one in hand")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileDeletingScreen), what="the question")
        await pilot.press("y")
        paced.step(20)
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    assert app.exit_lines == ["ckpt-tui: deleted 0 of 13 checkpoints (0 B); stopped at your request; 2 not deleted"]
    assert len(app.exit_errors) == 2
    assert all(e.startswith("ckpt-tui: skipped ") and "/checkpoint_" in e for e in app.exit_errors)


async def test_yes_after_the_deletion_ended_just_quits(tmp_path, monkeypatch):
    root = copy_run("keep_all", tmp_path)
    before = {str(p) for p in root.glob("*/checkpoint_*")}
    app = make_app(root, K3_MIN)
    paced = Paced(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deletion(pilot, app)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileDeletingScreen), what="the question")
        paced.step(13)
        await wait_for(pilot, lambda: not app.delete_running, what="the deletion to end")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    assert app.return_code == 0
    assert len(before - {str(p) for p in root.glob("*/checkpoint_*")}) == 13 == paced.done
    assert app.exit_lines == []  # nothing was stopped: only the config line is printed


# ---- the session log -----------------------------------------------------------------------


async def test_skips_and_failures_are_kept_in_the_session_log(tmp_path):
    root = copy_run("keep_all", tmp_path)
    app = make_app(root, K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionLogScreen), what="the log")
        await pilot.press("escape")
        doomed = sorted(c.path for c in app.plan.to_delete())
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirm dialog")
        # Two checkpoints change after the dialog was prepared: each is skipped, with a reason.
        for path in doomed[:2]:
            (Path(path) / "model.bin").write_bytes(b"changed since the dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.deleting, what="deletion done")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionLogScreen), what="the log")
        lines = app.screen.lines
        assert any("deleted 11 of 13 checkpoints" in ln and "2 not deleted" in ln for ln in lines)
        skipped = [ln for ln in lines if "not deleted:" in ln]
        assert len(skipped) == 2
        for path, line in zip(doomed[:2], skipped):
            assert Path(path).name in line and Path(path).parent.name in line
            assert line.split(": ", 2)[-1].strip()  # a reason follows the path
        await pilot.press("escape")
    for path in doomed[:2]:
        assert Path(path).is_dir()


# ---- escape and the cursor -----------------------------------------------------------------


async def test_escape_in_the_table_clears_the_filter_then_the_trial(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: app.table.row_count == 8, what="one trial")
        await pilot.press("slash", *"000005", "enter")
        await wait_for(pilot, lambda: app.table.row_count == 1, what="the filter")
        assert app.focused is app.table
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.table.row_count == 8, what="the filter cleared")
        assert app.text_filter == "" and app.filter_input.value == ""
        assert app.trial_filter is not None
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.table.row_count == 24, what="every trial")
        assert app.trial_filter is None


@pytest.mark.parametrize("one_trial", [False, True], ids=["all-trials", "one-trial"])
async def test_cursor_stays_when_a_better_checkpoint_lands_in_its_own_trial(tmp_path, one_trial):
    root = copy_run("keep_all", tmp_path)
    trial_dir = sorted(p for p in root.iterdir() if p.is_dir())[0]
    # A live run (issue 9: a report past a stopped trial's state is never registered).
    mark_running(root, trial_dir.name)
    app = make_app(root, K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        if one_trial:
            await pilot.press("right_square_bracket")
            await wait_for(pilot, lambda: app.table.row_count == 8, what="one trial")
        assert app.table.rows[0].trial_id == trial_dir.name
        app.table.move_cursor(4)  # a checkpoint of the trial that changes
        await pilot.pause()
        kept_path = app.table.current.path
        _append_checkpoint(trial_dir, loss=0.0001)  # the best: every row of the trial moves down
        app.queue_reread({trial_dir.name})
        await wait_for(pilot, lambda: app.table.row_count == (9 if one_trial else 25), what="the new checkpoint")
        assert app.table.current.path == kept_path
        assert app.table.cursor == 5


def test_quit_while_the_deletion_is_being_checked_does_not_wait_for_the_checks(tmp_path):
    """Preparing (fingerprinting) 96,000 checkpoints takes seconds and deletes nothing: quitting
    meanwhile ends the process at once (the checks are not waited for), and deletes nothing."""
    root = copy_run("keep_all", tmp_path)
    before = sorted(str(p) for p in root.rglob("*"))
    script = textwrap.dedent(f"""
        import sys, time
        from functools import partialmethod
        from textual.app import App
        import ckpt_tui.core.deletion as deletion
        from ckpt_tui.cli import main
        from ckpt_tui.ui.app import CheckpointApp

        CheckpointApp.run = partialmethod(App.run, headless=True)
        real = deletion.prepare

        def slow_prepare(*args, **kwargs):
            time.sleep(60)
            return real(*args, **kwargs)

        deletion.prepare = slow_prepare

        def on_ready(self):
            def when_read():
                if self.reading or self.plan is None or not self.plan.complete:
                    return
                timer.stop()
                self.action_delete()  # d
                print("ACTIVITY:", self.activity, file=sys.stderr)
                self.set_timer(0.5, self.action_quit)  # q, while it checks

            timer = self.set_interval(0.05, when_read)

        CheckpointApp.on_ready = on_ready
        sys.exit(main([{str(root)!r}, "--num-to-keep", "3", "--score-attribute", "loss",
                       "--score-order", "min"]))
    """)
    script_file = tmp_path / "quit_while_checking.py"
    script_file.write_text(script)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script_file)], capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ACTIVITY: checking 13 checkpoints" in proc.stderr
    assert took < 30, f"the process waited {took:.0f} s for the checks"
    assert proc.stdout.strip().endswith('checkpoint_score_order="min", checkpoint_at_end=False)')
    assert sorted(str(p) for p in root.rglob("*")) == before
