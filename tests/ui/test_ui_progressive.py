"""Pilot tests of progressive reading: rows show after the first trial, the table grows as the
rest is read, the cursor stays put, and nothing is deleted or sized before the read is done."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import Run
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan as make_plan
from ckpt_tui.ui.app import CheckpointApp
from ckpt_tui.ui.launch import start_reading
from tests.conftest import RAY_RUNS
from tests.ui.test_ui_app import K3_MIN, SIZE, copy_run, marks, wait_for

RUNS = RAY_RUNS


def gated_reading(full: Run, gate: threading.Semaphore):
    """A reader as slow as the test wants: yields a growing Run, one more trial per release of
    ``gate``, in the order read_run_progressively would (first trial first)."""
    run = Run(root=full.root, layout=full.layout, run_config=full.run_config)
    items = list(full.trials.items())
    run.trials[items[0][0]] = items[0][1]
    yield run
    for tid, trial in items[1:]:
        if not gate.acquire(timeout=30):
            raise TimeoutError("the test never released the next trial")
        run.trials[tid] = trial
        yield run


async def test_rows_show_before_the_read_finishes_and_the_table_grows(tmp_path):
    root = copy_run("keep_all", tmp_path)
    full = read_run(str(root), sizes=False)
    counts = [len(t.checkpoints) for t in full.trials.values()]
    gate = threading.Semaphore(0)
    reading = gated_reading(full, gate)
    first = next(reading)
    app = CheckpointApp(first, K3_MIN, watch=True, reading=reading)
    async with app.run_test(size=SIZE) as pilot:
        # The first trial is on screen while the others are not read yet.
        await wait_for(pilot, lambda: app.table.row_count == counts[0], what="the first trial's rows")
        assert app.reading
        await wait_for(pilot, lambda: app.activity.startswith("reading"), what="the reading indicator")
        assert app.table.current is not None
        assert app.watcher is None  # the watch starts once the run is read
        assert all(c.size_bytes is None for c in app.run_model.checkpoints())  # sizes come after

        # Deleting now would act on part of the run: refused, nothing touched.
        await pilot.press("d")
        await pilot.pause()
        assert not app.deleting
        assert all(Path(c.path).is_dir() for c in full.checkpoints())

        # The cursor stays on its checkpoint while trials arrive.
        await pilot.press("j", "j", "j")
        kept = app.table.current.path
        gate.release()
        await wait_for(pilot, lambda: app.table.row_count == counts[0] + counts[1], what="the second trial")
        assert app.reading
        assert app.table.current.path == kept
        assert app.trial_list.row_count == 3  # "all trials" + two trials

        gate.release()
        await wait_for(pilot, lambda: not app.reading, what="the end of the read")
        assert app.table.row_count == sum(counts)
        assert app.table.current.path == kept
        await wait_for(pilot, lambda: all(c.size_bytes is not None for c in app.table.rows), what="sizes")
        await wait_for(pilot, lambda: app.activity == "", what="no activity")
        await wait_for(pilot, lambda: app.watcher is not None, what="the watch")
        # The same marks as a plan over the run read in one go.
        expected = make_plan(full, K3_MIN)
        assert marks(app) == {c.path: expected.decisions[c].keep for c in full.checkpoints()}


async def test_progressive_read_of_a_real_run_ends_as_a_full_read(tmp_path):
    # 60 trials: more than one update of the reader (it yields after the 1st and every 50th).
    root = tmp_path / "many"
    src = RUNS / "keep_all"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("trainable_*"))
    trial_dirs = sorted(p for p in src.iterdir() if p.is_dir() and p.name.startswith("trainable_"))
    for i in range(60):
        t = trial_dirs[i % len(trial_dirs)]
        shutil.copytree(t, root / t.name.replace("_0000", f"_{i:05d}x", 1))
    run, reading = start_reading(str(root))
    assert len(run.trials) < 60
    config = run.run_config or CheckpointConfig()
    app = CheckpointApp(run, config, watch=False, reading=reading)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count > 0, what="first rows")
        await wait_for(pilot, lambda: not app.reading, what="the end of the read")
        await wait_for(pilot, lambda: app.activity == "", what="sizes")
        full = read_run(str(root), sizes=True)
        assert len(app.run_model.trials) == len(full.trials) == 60
        assert app.table.row_count == full.checkpoint_count
        assert app.read_progress[0] == 60
        expected = make_plan(full, config)
        by_path = {c.path: expected.decisions[c].keep for c in full.checkpoints()}
        assert marks(app) == by_path
        assert sum(c.size_bytes for c in app.run_model.checkpoints()) == sum(c.size_bytes for c in full.checkpoints())
