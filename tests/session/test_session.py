"""The session layer on its own: no Textual, no app, real runs on a real filesystem.

Thread bodies are run in plain threads (or inline) with a list as their ``emit``."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import Run
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan as make_plan
from ckpt_tui.session import Session, events
from ckpt_tui.session.deletion_flow import failure_lines, progress_text, result_line
from ckpt_tui.session.planning import RECLAIM_INLINE, Totals
from ckpt_tui.session.summary_state import SummaryState
from tests.conftest import write_tune_trial

K3_MIN = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")


def session_of(ray_run, name="keep_all", config=K3_MIN, **kw) -> Session:
    root = ray_run(name)
    run = read_run(str(root))
    return Session(run, config, **kw)


def complete_plan(session: Session):
    plan = session.new_plan()
    while not plan.complete:
        assert session.planner.finish_slice(plan) is not None
    return plan


def test_the_session_imports_no_textual_and_no_watch():
    """Importing the whole session layer leaves Textual, rich, watchdog and the ui/watch
    packages unloaded (a fresh interpreter: the test process has Textual loaded already)."""
    code = (
        "import sys, ckpt_tui.session, ckpt_tui.session.deletion_flow, ckpt_tui.session.events, "
        "ckpt_tui.session.summary_state\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'watchdog') "
        "or m.startswith(('ckpt_tui.ui', 'ckpt_tui.watch'))]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_new_plan_matches_the_core_plan_and_counts_totals(ray_run):
    session = session_of(ray_run)
    plan = complete_plan(session)
    reference = make_plan(session.run, session.config)
    assert [c.path for c in plan.to_delete()] == [c.path for c in reference.to_delete()]
    assert session.planner.take_totals(plan) is False  # a small plan: its bytes at once
    kept, delete, reclaim, total = session.planner.shown_totals()
    assert (kept, delete) == (reference.keep_count, reference.delete_count)
    assert reclaim == reference.reclaim_bytes > 0
    assert total == sum(c.size_bytes for c in session.run.checkpoints())
    assert session.planner.replan_count == 1


def test_totals_are_unknown_while_a_newer_plan_ranks(ray_run):
    session = session_of(ray_run)
    plan = complete_plan(session)
    session.planner.take_totals(plan)
    newer = session.new_plan()
    if newer.complete:  # ranked within the first slice: its totals are the caller's to take
        assert session.planner.totals_plan is None
    kept, delete, reclaim, _total = session.planner.shown_totals()
    assert (kept, delete, reclaim) == (None, None, None)
    assert session.planner.finish_slice(plan) is None  # the old plan is stale


def test_a_big_plans_reclaim_is_summed_one_step_later(tmp_path):
    # More checkpoints to delete than RECLAIM_INLINE: the figure is "…" first, then filled.
    n = RECLAIM_INLINE + 10
    root = tmp_path / "big"
    write_tune_trial(root / "t_00000", [{"loss": float(i)} for i in range(n)], size=1)
    run = read_run(str(root))
    session = Session(
        run, CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="loss", checkpoint_score_order="min")
    )
    session.planner.sizes_settled = True
    plan = complete_plan(session)
    assert session.planner.take_totals(plan) is True
    assert session.planner.shown_totals()[2] is None
    assert session.planner.fill_reclaim(plan) is True
    freed = plan.reclaim_bytes
    assert session.planner.shown_totals()[2] == freed == sum(c.size_bytes for c in plan.to_delete()) > 0
    # The same config again is answered from the cache.
    again = complete_plan(session)
    assert session.planner.take_totals(again) is False
    assert session.planner.totals == Totals(
        plan.keep_count, plan.delete_count, freed, sum(c.size_bytes for c in run.checkpoints())
    )


def test_filters_pick_rows_and_a_gone_trial_filter_falls_back_to_all(ray_run):
    session = session_of(ray_run)
    plan = complete_plan(session)
    tid = next(iter(plan.trials))
    session.trial_filter = tid
    rows, _ = session.view_rows(None, None)
    assert {c.trial_id for c in rows} == {tid}
    name = rows[-1].name
    session.text_filter = name.upper()  # case does not matter
    rows, keep = session.view_rows(None, None)
    assert [c.name for c in rows] == [name] and keep is None
    session.trial_filter = "no such trial"
    session.new_plan()
    assert session.trial_filter is None


def test_the_cursor_checkpoint_is_found_again_after_its_trial_is_reread(ray_run):
    session = session_of(ray_run)
    complete_plan(session)
    rows, _ = session.view_rows(None, None)
    current = rows[2]
    assert session.queue_reread({current.trial_id}) is True
    emitted: list = []
    session.reread_loop(emitted.append)
    assert [type(e) for e in emitted] == [events.TrialsReread, events.TrialsReread]
    assert emitted[0].trial_ids == (current.trial_id,) and not emitted[0].sizes_known and emitted[1].sizes_known
    complete_plan(session)
    rows, keep = session.view_rows(current, current.path)
    assert keep is not None and rows[keep].path == current.path
    assert rows[keep] is not current  # a new object: found by its path


def test_rereads_queued_while_one_runs_are_merged_into_the_same_thread(ray_run):
    session = session_of(ray_run)
    tids = list(session.run.trials)
    assert session.queue_reread({tids[0]}) is True
    assert session.queue_reread({tids[1]}) is False  # the running loop takes it
    emitted: list = []
    session.reread_loop(emitted.append)
    assert set(emitted[0].trial_ids) == {tids[0], tids[1]}
    assert not session.has_pending()
    assert session.queue_reread({tids[0]}) is True  # the loop ended: the next batch starts one


def test_a_failing_reread_reports_and_frees_the_queue(ray_run, monkeypatch):
    session = session_of(ray_run)
    import ckpt_tui.session.session as module

    def broken(*a, **k):
        raise OSError("disk gone")

    monkeypatch.setattr(module, "reread", broken)
    assert session.queue_reread({""})
    emitted: list = []
    session.reread_loop(emitted.append)
    assert emitted == [events.RereadFailed("disk gone")]
    assert session.queue_reread({""}) is True


def test_sizes_loop_fills_every_size_and_reports_progress(ray_run):
    root = ray_run("k3_loss_min")
    run = read_run(str(root), sizes=False)
    session = Session(run, K3_MIN)
    assert session.sizes_missing()
    emitted: list = []
    session.fill_sizes_loop(emitted.append)
    assert not session.sizes_missing()
    assert isinstance(emitted[-1], events.SizesFilled)
    n = len(list(run.checkpoints()))
    assert emitted[-2] == events.SizesProgressed(n, n)


def test_progressive_read_hands_trials_over_in_batches(ray_run):
    root = ray_run("keep_all")
    full = read_run(str(root), sizes=False)
    gate = threading.Semaphore(0)
    items = list(full.trials.items())

    def reading():
        run = Run(root=full.root, layout=full.layout, run_config=full.run_config)
        run.trials[items[0][0]] = items[0][1]
        yield run
        for tid, trial in items[1:]:
            gate.acquire(timeout=30)
            run.trials[tid] = trial
            yield run

    gen = reading()
    first = next(gen)
    session = Session(first, K3_MIN, reading=gen)
    assert session.reading and len(session.run.trials) == 1
    assert session.run is not first  # the app's own Run: the reader keeps filling its own
    assert session.queue_reread({"x"}) is False  # re-reads wait for the read
    posted: list = []
    thread = threading.Thread(target=session.read.run, args=(lambda: False, posted.append))
    thread.start()
    for _ in items[1:]:
        gate.release()
    thread.join(30)
    applied = session.apply_read()
    assert applied == events.ReadApplied(len(items), len(items), True, True, None)
    assert set(session.run.trials) == set(full.trials)
    assert not session.reading and session.apply_read() is None
    assert events.ReadQueued() in posted
    assert session.has_pending() and session.queue_reread(set()) is True


def test_deletion_flow_deletes_what_the_plan_marks_and_stops_when_asked(ray_run):
    session = session_of(ray_run, config=K3_MIN)
    plan = complete_plan(session)
    flow = session.deletion
    doomed = flow.select(plan, None)
    assert len(doomed) == plan.delete_count > 1 and flow.all_count == plan.delete_count
    flow.begin()
    prepared = flow.prepare(plan, doomed, grace_seconds=0, pinned=session.pinned)
    assert prepared.error is None and len(prepared.request.items) == len(doomed)
    flow.confirmed(len(doomed))
    assert flow.running and flow.progress == (0, len(doomed))

    stopped_after: list = []

    def emit(event):  # stop after the first checkpoint, as quitting does
        stopped_after.append(event)
        flow.stop_and_quit()

    flow.stop.clear()
    finished = flow.execute(prepared.request, emit)
    assert finished.deleted == 1 and finished.stopped and finished.total == len(doomed)
    assert not Path(doomed[0].path).exists() and all(Path(c.path).exists() for c in doomed[1:])
    assert "stopped at your request" in result_line(finished)
    assert progress_text(1, 5, stopping=True) == "stopping after the checkpoint in hand (1/5 done)"
    flow.finished()
    assert not flow.deleting and not flow.running


def test_deletion_flow_selects_only_the_rows_shown(ray_run):
    session = session_of(ray_run, config=K3_MIN)
    plan = complete_plan(session)
    tid = next(t for t in plan.trials if any(True for _ in plan.order[t]))
    shown = list(plan.ordered(tid))
    doomed = session.deletion.select(plan, shown)
    assert doomed and {c.trial_id for c in doomed} == {tid}
    assert session.deletion.all_count == plan.delete_count > len(doomed)


def test_a_refused_prepare_is_an_event_not_an_exception(ray_run, monkeypatch):
    session = session_of(ray_run)
    plan = complete_plan(session)
    doomed = session.deletion.select(plan, None)
    import ckpt_tui.core.deletion as deletion

    def refuse(*a, **k):
        raise ValueError("the run root moved")

    monkeypatch.setattr(deletion, "prepare", refuse)
    prepared = session.deletion.prepare(plan, doomed, grace_seconds=0, pinned=set())
    assert prepared == events.DeletionPrepared(None, "the run root moved")
    assert all(Path(c.path).is_dir() for c in doomed)


def test_result_line_and_failure_lines():
    finished = events.DeletionFinished(2, (("/r/t/checkpoint_1", "busy"),), 2048, total=3, trial_ids=("t",))
    assert result_line(finished) == "deleted 2 of 3 checkpoints (2.0 kB); 1 not deleted"
    assert failure_lines(finished, "/r") == ["  not deleted: t/checkpoint_1: busy"]
    assert failure_lines(finished, "/elsewhere")[0].endswith("/r/t/checkpoint_1: busy")


def test_metric_keys_put_the_runs_attribute_first_and_follow_a_reread(ray_run):
    session = session_of(ray_run, is_bookkeeping=lambda k: k in ("training_iteration", "timestamp"))
    keys = session.metric_keys()
    assert keys[0] == ("loss", True)
    names = [k for k, _ in keys]
    assert names.index("training_iteration") > names.index("acc")
    assert session.metric_keys() is keys  # cached
    tid = next(iter(session.run.trials))
    session.queue_reread({tid})
    emitted: list = []
    session.reread_loop(emitted.append)
    session.trials_reread(emitted[-1], sizing=False)
    assert session.metric_keys() is not keys and session.metric_keys() == keys


def test_pins_and_warnings(ray_run):
    session = session_of(ray_run, config=K3_MIN)
    plan = complete_plan(session)
    doomed = plan.to_delete()[0]
    assert session.toggle_pin(doomed) is True
    assert doomed not in complete_plan(session).to_delete()
    assert session.toggle_pin(doomed) is False
    session.run.leftovers.append(str(Path(session.run.root) / "t" / ".ckpt-tui-deleting-x"))
    warnings = session.warnings("~/run", lambda path, root, shown: "REL:" + path[len(root) :])
    assert warnings[-1] == "interrupted deletion left REL:/t/.ckpt-tui-deleting-x"


def test_summary_state_is_a_frozen_value():
    state = SummaryState("~/r", "tune", 3, "live", "CheckpointConfig()", 1, 2, "1 kB", "2 kB", "", 0, "all trials")
    assert state == SummaryState(
        "~/r", "tune", 3, "live", "CheckpointConfig()", 1, 2, "1 kB", "2 kB", "", 0, "all trials"
    )
    with pytest.raises(AttributeError):
        state.kept = 5  # type: ignore[misc]
