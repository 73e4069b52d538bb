"""The app on a storage root: the overview, drill-in and back with the cursor in place,
root-wide retention and deletion, live experiments and trials, and a directory that holds no run
yet becoming a run. Real app (Pilot), real filesystem, copies of the real Ray runs."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan as make_plan
from ckpt_tui.core.storage_root import config_for, find_experiments
from ckpt_tui.ui.root_app import BACK, ExperimentApp, RootApp, RootState
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from ckpt_tui.watch.root_poller import RootPoller
from tests.root_fixtures import RAY_RUNS, ROOT_EXPERIMENTS, make_root, make_writable_and_old

SIZE = (140, 35)
TIMEOUT = 20.0


async def wait_for(pilot, condition, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def make_state(root: Path, **changes) -> RootState:
    return RootState(str(root), find_experiments(str(root)), changes)


def rows(app: RootApp) -> dict:
    return {r.rel: r for r in app.overview.table.rows}


def settled(app: RootApp) -> bool:
    o = app.overview
    return len(o.state.entries) == len(o.state.found) and not o._stale and not o._planning


def ckpt_dirs(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("checkpoint_*") if p.is_dir()}


async def test_overview_one_row_per_experiment_with_figures(tmp_path):
    root = make_root(tmp_path)
    app = RootApp(make_state(root))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(app), what="every experiment read and planned")
        shown = rows(app)
        assert set(shown) == set(ROOT_EXPERIMENTS)
        for rel, row in shown.items():
            run = read_run(str(root / rel))
            p = make_plan(run, config_for(run.run_config, {}))
            assert (row.layout, row.trials, row.checkpoints) == (run.layout, len(run.trials), run.checkpoint_count)
            assert row.total_bytes == p.total_bytes and row.reclaim_bytes == p.reclaim_bytes
            assert row.delete == p.delete_count
            assert not row.active and row.newest.endswith("ago")  # copied an hour old
        assert shown["sweeps/2026/k3_loss_min"].config == "keep 3 by loss min"
        assert shown["keep_all"].config == "keep all"
        # Sorted by bytes, biggest first; S cycles the sort.
        sizes = [r.total_bytes for r in app.overview.table.rows]
        assert sizes == sorted(sizes, reverse=True)
        await pilot.press("S")
        assert app.state.sort == "frees"
        for _ in range(4):
            await pilot.press("S")
        assert app.state.sort == "path"
        assert [r.rel for r in app.overview.table.rows] == sorted(ROOT_EXPERIMENTS)
        summary = str(app.overview.summary.render())
        assert "5 experiments" in summary and "11 trials" in summary


async def test_drill_in_and_back_with_the_cursor_where_it_was(tmp_path):
    root = make_root(tmp_path)
    state = make_state(root)
    app = RootApp(state)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(app), what="overview settled")
        await pilot.press("j", "j")
        chosen = app.overview.table.current.rel
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.return_value is not None, what="overview exits to open")
    assert app.return_value == ("open", chosen)

    # Today's main screen on that experiment; escape goes back.
    entry = state.entries[chosen]
    exp_app = ExperimentApp(entry.run, config_for(entry.run.run_config, state.changes), watch=False)
    async with exp_app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: exp_app.plan is not None, what="main screen planned")
        assert exp_app.table.row_count == entry.run.checkpoint_count
        await pilot.press("escape")
        await wait_for(pilot, lambda: exp_app.return_value is not None, what="back")
    assert exp_app.return_value == BACK

    again = RootApp(state)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(again), what="overview again")
        assert again.overview.table.current.rel == chosen
        assert again.overview.table.cursor == 2

    # backspace goes back too
    exp_app = ExperimentApp(entry.run, config_for(entry.run.run_config, state.changes), watch=False)
    async with exp_app.run_test(size=SIZE) as pilot:
        await pilot.press("backspace")
        await wait_for(pilot, lambda: exp_app.return_value is not None, what="back")
    assert exp_app.return_value == BACK


async def test_root_wide_config_change_replans_every_experiment(tmp_path):
    root = make_root(tmp_path)
    app = RootApp(make_state(root))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(app), what="settled")
        assert sum(r.delete or 0 for r in app.overview.table.rows) == 0
        await pilot.press("minus")  # from the largest own num_to_keep (3) down to 2, everywhere
        assert app.state.changes == {"num_to_keep": 2}
        await wait_for(pilot, lambda: settled(app), what="replanned")
        for rel, row in rows(app).items():
            run = read_run(str(root / rel))
            p = make_plan(run, config_for(run.run_config, {"num_to_keep": 2}))
            assert row.delete == p.delete_count and row.reclaim_bytes == p.reclaim_bytes, rel
        assert sum(1 for r in app.overview.table.rows if r.delete) >= 2
        assert "num_to_keep=2" in str(app.overview.summary.render())
        await pilot.press("o")  # the order, for every experiment
        await wait_for(pilot, lambda: settled(app), what="replanned")
        assert "checkpoint_score_order" in app.state.changes
        await pilot.press("r")
        await wait_for(pilot, lambda: settled(app), what="reset")
        assert app.state.changes == {}
        assert sum(r.delete or 0 for r in app.overview.table.rows) == 0


async def test_root_wide_deletion_after_one_confirmation(tmp_path):
    root = make_root(tmp_path)
    before = ckpt_dirs(root)
    app = RootApp(make_state(root, num_to_keep=1))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(app), what="settled")
        doomed = {
            str(Path(c.path).relative_to(os.path.realpath(root)))
            for p in app.overview.plans.values()
            for c in p.to_delete()
        }
        per_exp = {r.rel: r.delete for r in app.overview.table.rows if r.delete}
        assert len(per_exp) >= 2
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="one confirmation")
        dialog = app.screen
        assert dialog.count == len(doomed)
        for rel, n in per_exp.items():
            assert f"{rel}: {n}" in dialog.scope
        assert ckpt_dirs(root) == before  # nothing before the confirmation
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: (
                not app.overview.deleting and settled(app) and sum(r.delete or 0 for r in app.overview.table.rows) == 0
            ),
            what="deleted and re-read",
        )
        assert ckpt_dirs(root) == before - doomed
        for rel in per_exp:
            assert (root / rel / ".ckpt-tui" / "deletions.jsonl").exists()
        assert sum(r.checkpoints for r in app.overview.table.rows) == len(before) - len(doomed)


async def test_cancelled_root_deletion_deletes_nothing(tmp_path):
    root = make_root(tmp_path)
    before = ckpt_dirs(root)
    app = RootApp(make_state(root, num_to_keep=1))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(app), what="settled")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirmation")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.overview.deleting, what="cancelled")
    assert ckpt_dirs(root) == before


async def test_live_root_experiments_and_trials_come_and_go(tmp_path):
    root = make_root(tmp_path)
    state = make_state(root)
    poller = RootPoller(str(root), state.on_change, interval=0.2, known=state.found)
    poller.baseline()
    poller.start()
    app = RootApp(state)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: settled(app), what="settled")
            # A new experiment, grouped deeper.
            new = root / "later" / "keep_all_again"
            shutil.copytree(RAY_RUNS / "keep_all", new)
            make_writable_and_old(new)
            await wait_for(
                pilot,
                lambda: "later/keep_all_again" in rows(app) and rows(app)["later/keep_all_again"].checkpoints == 24,
                timeout=5,
                what="new experiment",
            )
            # A new trial in an existing experiment.
            src = next((root / "keep_all").glob("trainable_*"))
            shutil.copytree(src, root / "keep_all" / (src.name.replace("_00000_", "_00009_")))
            await wait_for(pilot, lambda: rows(app)["keep_all"].trials == 4, timeout=5, what="new trial")
            # An experiment deleted by hand.
            shutil.rmtree(root / "s8_shared" / "exp_a")
            await wait_for(pilot, lambda: "s8_shared/exp_a" not in rows(app), timeout=5, what="experiment gone")
            assert poller.last_round_seconds < 1.0
    finally:
        poller.stop()


async def test_waiting_start_becomes_a_run(tmp_path):
    empty = tmp_path / "experiment"
    empty.mkdir()
    state = make_state(empty)
    assert state.found == []
    poller = RootPoller(str(empty), state.on_change, interval=0.2, known=[], watch_root_itself=True)
    poller.baseline()
    poller.start()
    app = RootApp(state)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            text = str(app.overview.waiting_text.render())
            assert app.overview.has_class("-waiting")
            assert (
                "No Ray run" in text
                and "experiment_state-*.json" in text
                and "checkpoint_manager_snapshot.json" in text
            )
            assert app.return_value is None
            for item in (RAY_RUNS / "keep_all").iterdir():  # Ray starts writing
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, empty / item.name)
            await wait_for(pilot, lambda: app.return_value is not None, timeout=5, what="the run appears")
        assert app.return_value == ("self", "tune")
    finally:
        poller.stop()


async def test_waiting_start_lists_experiments_created_under_it(tmp_path):
    storage = tmp_path / "ray_results"
    storage.mkdir()
    state = make_state(storage)
    poller = RootPoller(str(storage), state.on_change, interval=0.2, known=[], watch_root_itself=True)
    poller.baseline()
    poller.start()
    app = RootApp(state)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            assert app.overview.has_class("-waiting")
            shutil.copytree(RAY_RUNS / "train_v2_k2_score_max", storage / "my_train_run")
            await wait_for(pilot, lambda: "my_train_run" in rows(app) and settled(app), timeout=5, what="listed")
            assert not app.overview.has_class("-waiting")
            assert rows(app)["my_train_run"].layout == "train-v2"
    finally:
        poller.stop()


async def test_typed_num_to_keep_and_keep_all_at_the_root(tmp_path):
    from ckpt_tui.ui.screens.number_input import NumberInputScreen

    root = make_root(tmp_path)
    app = RootApp(make_state(root))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(app), what="settled")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NumberInputScreen), what="number dialog")
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: app.state.changes == {"num_to_keep": 1} and settled(app), what="keep 1")
        assert {r.config.split(" by ")[0].replace(" newest", "") for r in app.overview.table.rows} == {"keep 1"}
        deleting = sum(r.delete for r in app.overview.table.rows)
        assert deleting > 0
        assert f"✗ {deleting} to delete" in str(app.overview.summary.render())
        await pilot.press("a")
        await wait_for(pilot, lambda: app.state.changes == {"num_to_keep": None} and settled(app), what="keep all")
        assert sum(r.delete for r in app.overview.table.rows) == 0
        assert {r.config.split(" by ")[0] for r in app.overview.table.rows} == {"keep all"}


async def test_warnings_of_every_experiment(tmp_path):
    from ckpt_tui.ui.screens.text_list import TextListScreen

    root = make_root(tmp_path)
    app = RootApp(make_state(root))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(app), what="settled")
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, TextListScreen), what="warnings")
        lines = app.screen.lines
        # s8_shared's trials reported checkpoints Ray has since removed: each experiment names itself.
        assert any(line.startswith("s8_shared/exp_a: ") and "no longer on disk" in line for line in lines)
        assert any(line.startswith("s8_shared/exp_b: ") for line in lines)


async def test_overview_help_lists_its_own_keys_and_ctrl_c_quits(tmp_path):
    from ckpt_tui.ui.screens.help import HelpScreen

    app = RootApp(make_state(make_root(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: settled(app), what="overview settled")
        footer = " ".join(b.description for _, b, *_ in app.overview.active_bindings.values() if b.show)
        assert footer.startswith("Help Quit")  # first in the footer at every width
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        assert [k for k, _ in app.screen.rows] == [k for k, _ in app.overview.KEYS_HELP]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help closed")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.is_running, what="ctrl+c to quit")


async def test_escape_in_an_experiment_clears_its_scope_before_going_back(tmp_path):
    root = make_root(tmp_path)
    state = make_state(root)
    entry_rel = "keep_all"
    run = read_run(str(root / entry_rel))
    exp_app = ExperimentApp(run, config_for(run.run_config, {}), watch=False)
    async with exp_app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: exp_app.plan is not None, what="main screen planned")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: exp_app.trial_filter is not None, what="one trial")
        await pilot.press("escape")
        await wait_for(pilot, lambda: exp_app.trial_filter is None, what="every trial again")
        assert exp_app.return_value is None and exp_app.is_running
        await pilot.press("escape")
        await wait_for(pilot, lambda: exp_app.return_value is not None, what="back")
    assert exp_app.return_value == BACK
    assert state.found  # the root it goes back to


async def test_quitting_the_overview_stops_its_deletion_between_checkpoints(tmp_path, monkeypatch):
    """Nothing is deleted once the overview has gone: the deletion stops after the checkpoint
    in hand (each one is whole or gone), whatever was confirmed."""
    import threading

    import ckpt_tui.core.deletion as deletion

    real = deletion.flow._delete_one
    done: list[str] = []
    first = threading.Event()

    def slow(ctx, item):
        result = real(ctx, item)
        done.append(item.path)
        first.set()
        time.sleep(0.3)  # a big checkpoint: the user quits meanwhile
        return result

    monkeypatch.setattr(deletion.flow, "_delete_one", slow)
    root = make_root(tmp_path)
    before = ckpt_dirs(root)
    app = RootApp(make_state(root, num_to_keep=1))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(app), what="settled")
        doomed = sum(p.delete_count for p in app.overview.plans.values())
        assert doomed > 3
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, first.is_set, what="the first deletion")
        await pilot.press("q")
    time.sleep(1.0)  # a deletion that went on would go on here
    gone = before - ckpt_dirs(root)
    assert 1 <= len(gone) < doomed and len(gone) == len(done)
    settled_count = len(done)
    time.sleep(0.8)
    assert len(done) == settled_count  # and nothing after the app has gone
