"""DemoRun writes a run the readers take for Ray's own, and grows it one report at a time."""

from __future__ import annotations

import math
import os
import pickle
import re
import sys
import time
import types
from pathlib import Path

import pytest

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import TUNE
from ckpt_tui.core.readers import read_run, reread
from ckpt_tui.core.retention import plan
from ckpt_tui.demo import RUN_CONFIG, DemoRun, checkpoint_config_pickle

T0 = 1_790_000_000.0


@pytest.fixture
def demo(tmp_path):
    d = DemoRun(str(tmp_path / "run"), trials=4, seed=7, start_time=T0)
    d.create()
    yield d
    d.cleanup()


def flaky_trial(run):
    nan = [
        t
        for t in run.trials.values()
        if any(isinstance(r.metrics.get("loss"), float) and math.isnan(r.metrics["loss"]) for r in t.reports)
    ]
    assert len(nan) == 1
    return nan[0]


def test_created_run_reads_back_as_a_tune_run(demo):
    run = read_run(demo.path)
    assert run.layout == TUNE
    assert run.run_config == CheckpointConfig(
        checkpoint_score_attribute="loss", checkpoint_score_order="min", checkpoint_at_end=False
    )
    assert run.warnings == [] and run.leftovers == []
    assert len(run.trials) == 4
    statuses = [t.status for t in run.trials.values()]
    assert statuses.count("TERMINATED") == 1 and statuses.count("RUNNING") == 3
    for trial in run.trials.values():
        assert re.fullmatch(
            r"trainable_[0-9a-f]{5}_\d{5}_\d+_batch_size=\d+,lr=[0-9.]+_"
            r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d",
            trial.id,
        ), trial.id
        assert 5 <= len(trial.checkpoints) <= 12
        assert len(trial.reports) == len(trial.checkpoints) == trial.report_count
        assert all(c.report is not None for c in trial.checkpoints)
        assert [c.name for c in trial.checkpoints] == [f"checkpoint_{i:06d}" for i in range(len(trial.checkpoints))]
        assert all(2048 <= c.size_bytes <= 16 * 1024 for c in trial.checkpoints)
        assert trial.params and set(trial.params) == {"lr", "batch_size"}
        m = trial.reports[0].metrics
        assert {"loss", "nested", "timestamp", "checkpoint_dir_name", "training_iteration", "config"} <= set(m)
        assert isinstance(m["nested"]["val"], float)
    # trials differ in size
    assert len({t.checkpoints[0].size_bytes for t in run.trials.values()}) == 4
    # the only trial-level warning: the NaN literals of the flaky trial, which is RUNNING
    flaky = flaky_trial(run)
    assert flaky.status == "RUNNING"
    assert len(flaky.warnings) == 1 and "NaN" in flaky.warnings[0]
    assert [w for t in run.trials.values() if t is not flaky for w in t.warnings] == []


def test_the_pickled_config_is_a_real_pickle_of_ray_tune_checkpoint_config(monkeypatch):
    # Load it with the real unpickler against a stand-in ray.tune: proof it is what Ray would load.
    class CheckpointConfigStandIn:
        pass

    ray = types.ModuleType("ray")
    tune = types.ModuleType("ray.tune")
    tune.CheckpointConfig = CheckpointConfigStandIn
    ray.tune = tune
    monkeypatch.setitem(sys.modules, "ray", ray)
    monkeypatch.setitem(sys.modules, "ray.tune", tune)
    obj = pickle.loads(checkpoint_config_pickle(RUN_CONFIG))
    assert type(obj) is CheckpointConfigStandIn
    assert obj.__dict__ == RUN_CONFIG


def test_step_adds_exactly_one_report_to_one_running_trial(demo):
    run = read_run(demo.path)
    before = {tid: (len(t.reports), len(t.checkpoints), t.report_count) for tid, t in run.trials.items()}
    tid, name = demo.step()
    assert run.trials[tid].status == "RUNNING"
    assert reread(run, {tid}) == [tid]
    after = {t: (len(x.reports), len(x.checkpoints), x.report_count) for t, x in run.trials.items()}
    changed = {t for t in after if after[t] != before[t]}
    assert changed == {tid}
    assert after[tid] == tuple(n + 1 for n in before[tid])
    last = run.trials[tid].checkpoints[-1]
    assert last.name == name and last.report is not None and last.report.index == before[tid][0]
    assert last.size_bytes and last.size_bytes > 0
    # a fresh read agrees with the incremental one
    fresh = read_run(demo.path)
    assert {t: len(x.checkpoints) for t, x in fresh.trials.items()} == {
        t: len(x.checkpoints) for t, x in run.trials.items()
    }


def test_steps_only_touch_running_trials_and_keep_reading_cleanly(demo):
    run = read_run(demo.path)
    terminated = [t.id for t in run.trials.values() if t.status == "TERMINATED"]
    counts = {t: len(x.checkpoints) for t, x in run.trials.items()}
    touched = {demo.step()[0] for _ in range(30)}
    assert touched and not touched & set(terminated)
    fresh = read_run(demo.path)
    assert sum(len(t.checkpoints) for t in fresh.trials.values()) == sum(counts.values()) + 30
    assert fresh.warnings == []
    flaky = flaky_trial(fresh)
    assert [w for t in fresh.trials.values() if t is not flaky for w in t.warnings] == []


def test_the_plan_carries_the_intended_nan_and_missing_key_warnings(demo):
    for _ in range(6):
        demo.step()
    run = read_run(demo.path)
    flaky = flaky_trial(run)
    by_loss = plan(
        run, CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")
    )
    assert any("NaN" in w for w in by_loss.warnings)
    nan_ckpts = [c for c in run.checkpoints() if by_loss.decisions[c].note == "nan"]
    assert nan_ckpts and {c.trial_id for c in nan_ckpts} == {flaky.id}

    by_acc = plan(run, CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="acc"))
    assert any("no 'acc'" in w for w in by_acc.warnings)
    missing = [c for c in run.checkpoints() if by_acc.decisions[c].note == "missing-tune"]
    assert missing and {c.trial_id for c in missing} == {flaky.id}

    # the run's own config keeps everything
    own = plan(run, run.run_config)
    assert own.delete_count == 0


def test_deterministic_for_a_seed(tmp_path):
    def tree(seed, where):
        d = DemoRun(str(tmp_path / where), trials=3, seed=seed, start_time=T0)
        d.create()
        for _ in range(5):
            d.step()
        out = {}
        for dirpath, _dirs, files in os.walk(d.path):
            for f in files:
                p = os.path.join(dirpath, f)
                out[os.path.relpath(p, d.path)] = Path(p).read_bytes()
        return out

    a, b, c = tree(3, "a"), tree(3, "b"), tree(4, "c")
    assert a == b
    assert a != c


def test_start_and_stop_grow_the_run_in_the_background(demo):
    demo.start(interval=0.05)
    deadline = time.monotonic() + 20
    while demo.steps < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    demo.stop()
    assert demo._thread is None
    steps = demo.steps
    time.sleep(0.2)
    assert demo.steps == steps
    demo.stop()  # idempotent


def test_cleanup_removes_only_a_temp_dir_it_made(tmp_path):
    d = DemoRun(trials=2, seed=1)
    path = d.create()
    assert os.path.isdir(path) and read_run(path).run_config is not None
    d.cleanup()
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))

    given = tmp_path / "mine"
    d = DemoRun(str(given), trials=1, seed=1)
    d.create()
    d.cleanup()
    assert given.is_dir()


def test_refuses_to_write_into_a_non_empty_dir(tmp_path):
    (tmp_path / "x").write_text("hi")
    with pytest.raises(FileExistsError):
        DemoRun(str(tmp_path)).create()


def test_new_checkpoints_have_real_ages(tmp_path):
    d = DemoRun(str(tmp_path / "run"), trials=2, seed=0)
    d.create()
    run = read_run(d.path)
    mtimes = sorted(c.mtime for c in run.checkpoints())
    now = time.time()
    assert mtimes[0] < now - 60 and mtimes[-1] <= now + 1  # spread over the past, not all "now"
    tid, name = d.step()
    assert abs(os.stat(os.path.join(d.path, tid, name)).st_mtime - time.time()) < 60
    d.cleanup()
