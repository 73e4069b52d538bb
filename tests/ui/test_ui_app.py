"""Pilot tests of the app on temporary copies of real Ray runs: every interaction a user has."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.readers import read_run
from ckpt_tui.ui.app import CheckpointApp
from ckpt_tui.ui.screens.choose_attribute import ChooseAttributeScreen
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from ckpt_tui.ui.screens.help import HelpScreen
from ckpt_tui.ui.screens.number_input import NumberInputScreen
from tests.conftest import RAY_RUNS, copy_ray_run, mark_running

RUNS = RAY_RUNS
SIZE = (120, 35)
TIMEOUT = 20.0  # generous: a loaded 2-core machine must not make these flaky


def copy_run(name: str, tmp_path: Path) -> Path:
    return copy_ray_run(name, tmp_path)


async def wait_for(pilot, condition, timeout: float = TIMEOUT, what: str = "condition") -> None:
    """Let the app run until ``condition()`` holds; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def make_app(path: Path, config: CheckpointConfig | None = None, **kw) -> CheckpointApp:
    run = read_run(str(path), sizes=False)
    kw.setdefault("watch", False)
    return CheckpointApp(run, config or run.run_config or CheckpointConfig(), **kw)


def marks(app: CheckpointApp) -> dict[str, bool]:
    """What the table shows: checkpoint path -> kept? (under the plan the table draws with,
    which must be the app's current one)"""
    assert app.table.plan is app.plan
    return {c.path: app.table.plan.decisions[c].keep for c in app.table.rows}


K3_MIN = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")


async def test_opens_with_every_checkpoint_and_fills_sizes(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="24 rows")
        await wait_for(pilot, lambda: all(c.size_bytes is not None for c in app.table.rows), what="sizes")
        assert all(marks(app).values())  # the run's own config keeps everything
        # The indicator goes when the sizes pass reports it is done, a message after the last
        # size lands: wait for it rather than race it.
        await wait_for(pilot, lambda: app.activity == "", what="the sizing indicator to go")


async def test_changing_num_to_keep_changes_the_marks(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        assert sum(not k for k in marks(app).values()) == 13
        await pilot.press("plus")
        assert app.config.num_to_keep == 4
        deleted_at_4 = sum(not k for k in marks(app).values())
        assert deleted_at_4 < 13
        await pilot.press("minus", "minus")
        assert app.config.num_to_keep == 2
        assert sum(not k for k in marks(app).values()) > 13
        await pilot.press("a")
        assert app.config.num_to_keep is None
        assert all(marks(app).values())
        # Typing a number
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NumberInputScreen), what="number dialog")
        await pilot.press("ctrl+a", "ctrl+k", "3", "enter")
        await wait_for(pilot, lambda: app.config.num_to_keep == 3, what="num_to_keep=3")
        assert sum(not k for k in marks(app).values()) == 13


async def test_marks_match_what_ray_left_on_disk(tmp_path):
    """keep_all under k3/loss/min marks as kept exactly the dirs Ray left in k3_loss_min."""
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        kept = {(c.trial_id.split("_")[2], c.name) for c in app.table.rows if app.plan.decisions[c].keep}
        survivors = {
            (trial.name.split("_")[2], ck.name)
            for trial in (RUNS / "k3_loss_min").iterdir()
            if trial.is_dir()
            for ck in trial.iterdir()
            if ck.name.startswith("checkpoint_")
        }
        assert kept == survivors


async def test_choose_attribute_and_toggle_order(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), CheckpointConfig(num_to_keep=2))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChooseAttributeScreen), what="attribute dialog")
        keys = [k for k, _ in app.metric_keys()]
        assert keys[:3] == ["loss", "acc", "nested/val"]  # the user's metrics before Tune's
        # Down once from "(none)" lands on the first metric: loss.
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.config.checkpoint_score_attribute == "loss", what="loss chosen")
        first = app.table.rows[0]
        assert app.plan.decisions[first].rank == 1
        max_best = app.plan.decisions[first].value
        await pilot.press("o")
        assert app.config.checkpoint_score_order == "min"
        min_best = app.plan.decisions[app.table.rows[0]].value
        assert min_best < max_best
        await pilot.press("r")
        assert app.config == app.run_model.run_config


async def test_cursor_stays_on_the_same_checkpoint_across_replans(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("j", "j", "j")
        path = app.table.current.path
        await pilot.press("o")  # the order flips, the row moves
        assert app.table.current.path == path
        assert app.table.cursor != 3


async def test_pin_keeps_a_checkpoint(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        doomed = next(i for i, c in enumerate(app.table.rows) if not app.plan.decisions[c].keep)
        app.table.move_cursor(doomed)
        await pilot.pause()
        ckpt = app.table.current
        await pilot.press("p")
        assert app.plan.decisions[ckpt].keep and app.plan.decisions[ckpt].code == "pinned"
        await pilot.press("p")
        assert not app.plan.decisions[ckpt].keep


async def test_trial_selection_and_filter(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: app.table.row_count == 8, what="one trial")
        assert {c.trial_id for c in app.table.rows} == {app.trial_filter}
        await pilot.press("A")
        await wait_for(pilot, lambda: app.table.row_count == 24, what="all trials")
        await pilot.press("slash", *"seed=2")
        await wait_for(pilot, lambda: app.table.row_count == 8, what="filtered")
        assert all("seed=2" in c.trial_id for c in app.table.rows)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.table.row_count == 24, what="filter cleared")


async def test_confirmed_deletion_removes_exactly_the_planned_dirs(tmp_path):
    root = copy_run("keep_all", tmp_path)
    before = {str(p) for p in root.glob("*/checkpoint_*")}
    app = make_app(root, K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        planned = {c.path for c in app.plan.to_delete()}
        assert len(planned) == 13
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirm dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.deleting, what="deletion done")
        await wait_for(pilot, lambda: app.table.row_count == 11, what="table follows")
    after = {str(p) for p in root.glob("*/checkpoint_*")}
    assert before - after == planned
    assert after == before - planned


async def test_cancelled_deletion_removes_nothing(tmp_path):
    root = copy_run("keep_all", tmp_path)
    before = sorted(str(p) for p in root.rglob("*"))
    app = make_app(root, K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirm dialog")
        await pilot.press("enter")  # focus starts on Cancel: Enter out of habit deletes nothing
        await wait_for(pilot, lambda: not app.deleting, what="dialog closed")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirm dialog")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.deleting, what="dialog closed")
        assert app.table.row_count == 24
    assert sorted(str(p) for p in root.rglob("*")) == before


def _append_checkpoint(trial_dir: Path, loss: float) -> str:
    """Write what Ray writes for a new report with a checkpoint: the dir, then the line."""
    lines = (trial_dir / "result.json").read_text().splitlines()
    last = json.loads(lines[-1].replace("NaN", "null"))
    it = last["training_iteration"] + 1
    name = f"checkpoint_{it - 1:06d}"
    (trial_dir / name).mkdir()
    (trial_dir / name / "model.bin").write_bytes(b"x" * 100)
    last.update(training_iteration=it, loss=loss, checkpoint_dir_name=name)
    with open(trial_dir / "result.json", "a") as f:
        f.write(json.dumps(last) + "\n")
    return name


@pytest.mark.parametrize("poll", [None, 0.3], ids=["events", "polling"])
async def test_new_checkpoint_appears_live(tmp_path, poll):
    root = copy_run("keep_all", tmp_path)
    mark_running(root, sorted(p for p in root.iterdir() if p.is_dir())[0].name)
    app = make_app(root, K3_MIN, watch=True, poll_interval=poll)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await wait_for(pilot, lambda: app.watcher is not None, what="watcher started")
        # Keep the cursor on a checkpoint of another trial: it must stay there.
        app.table.move_cursor(20)
        await pilot.pause()
        kept_path = app.table.current.path
        trial_dir = sorted(p for p in root.iterdir() if p.is_dir())[0]
        name = _append_checkpoint(trial_dir, loss=0.0001)
        await wait_for(pilot, lambda: app.table.row_count == 25, what="the new checkpoint")
        new = next(c for c in app.table.rows if c.name == name)
        assert app.plan.decisions[new].rank == 1  # best loss in min mode
        assert app.reread_trials == [trial_dir.name]
        assert app.table.current.path == kept_path


async def test_help_warnings_and_copy(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.press("escape")
        await pilot.press("c")
        assert app.copied_line == K3_MIN.to_python()
        await pilot.press("w")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "TextListScreen"
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code == 0


async def test_works_at_80x24_and_on_train_v2(tmp_path):
    app = make_app(
        copy_run("train_v2_k2_score_max", tmp_path), CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score")
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 3, what="rows")
        assert app.main_screen.has_class("-no-trials")
        assert sum(not k for k in marks(app).values()) == 1
        await pilot.press("t")
        assert not app.main_screen.has_class("-no-trials")


async def test_metric_columns(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("space", "down", "space", "enter")  # loss and acc
        await wait_for(pilot, lambda: app.metric_columns == ["loss", "acc"], what="columns")
        assert [c.key for c in app.table.columns if c.key.startswith("metric:")] == ["metric:loss", "metric:acc"]


async def test_filter_matches_the_path_within_the_run_and_keeps_the_ranking(tmp_path):
    """The filter looks at "trial/checkpoint" (not the run's own location, which every row
    shares), ignores case, and keeps each trial's rows best first."""
    path = copy_run("keep_all", tmp_path)
    app = make_app(path, K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        ranked = [c.path for c in app.plan.ordered()]

        async def shown(text: str) -> list[str]:
            app.query_one("#filter").value = text
            # The rows follow the input's Changed message: wait for it, not for one pause.
            await wait_for(pilot, lambda: app.text_filter == text, what=f"the filter {text!r}")
            return [c.path for c in app.table.rows]

        # The run's directory name is in every absolute path, and matches nothing here.
        assert await shown(path.name) == []
        # A checkpoint name: one row per trial, each trial's in ranked order.
        rows = await shown("CHECKPOINT_000005")
        assert len(rows) == 3 and all(p.endswith("checkpoint_000005") for p in rows)
        assert rows == [p for p in ranked if p in rows]
        # Across the trial id and the name.
        trial = next(iter(app.plan.trials))
        assert await shown(f"{trial}/Checkpoint_00000") == [p for p in ranked if f"/{trial}/checkpoint_00000" in p]
        # A whole trial by part of its id, best first.
        assert await shown("seed=3") == [p for p in ranked if "seed=3" in p]


async def test_a_deletion_rereads_only_the_trials_it_deleted_from(tmp_path):
    """All trials in view, one of them over the limit: the table follows by re-reading that
    one trial, not the whole run (1,000 trials on a big sweep)."""
    from tests.conftest import write_tune_run

    old = time.time() - 3600  # past the grace period
    root = write_tune_run(tmp_path / "run", [[{"loss": float(i)} for i in range(n)] for n in (6, 2, 2)])
    for p in root.rglob("*"):
        os.utime(p, (old, old))
    app = make_app(root, CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 10, what="rows")
        doomed = {c.path for c in app.plan.to_delete()}
        assert {os.path.basename(os.path.dirname(p)) for p in doomed} == {next(iter(app.plan.trials))}
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirm dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.deleting, what="deletion done")
        await wait_for(pilot, lambda: app.table.row_count == 10 - len(doomed), what="table follows")
        assert app.reread_trials == [next(iter(app.plan.trials))]
        assert not any(os.path.exists(p) for p in doomed)


async def test_deletion_progress_is_shown_a_few_times_a_second_and_ends_at_the_total(tmp_path, monkeypatch):
    """One progress update per checkpoint would mean 96,000 summary redraws on a big prune."""
    seen: list[tuple[int, int]] = []
    original = CheckpointApp.on_deletion_progress

    def counting(self, message) -> None:
        seen.append((message.done, message.total))
        original(self, message)

    monkeypatch.setattr(CheckpointApp, "on_deletion_progress", counting)
    root = copy_run("keep_all", tmp_path)
    app = make_app(root, K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirm dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.deleting, what="deletion done")
    assert seen and seen[-1] == (13, 13)
    assert len(seen) < 13


def test_metric_keys_inside_nested_dicts_are_all_offered(tmp_path):
    """Two reports with the same top-level shape ({"eval": {...}}) but different keys inside."""
    from tests.conftest import write_tune_run

    root = write_tune_run(tmp_path / "run", [[{"eval": {"acc": 0.5}}, {"eval": {"loss": 2.0}}]])
    keys = dict(make_app(root).metric_keys())
    assert keys["eval/acc"] is True and keys["eval/loss"] is True


async def test_a_worker_message_handled_during_shutdown_is_harmless(tmp_path):
    """The sizes pass can finish while the app closes; its message re-plans and rewrites the
    summary after the widgets are gone. That must not end in an internal error."""
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
    assert not app.summary.is_attached
    app.replan()  # what on_sizes_filled does
