"""Reporting is not registering: a property test through the real reader.

Hypothesis draws a Tune trial as sessions of reports (a session ends with a stop, a failure or a
PBT exploit, and its last save may never have been registered). tests/ray_reference.py plays
Ray's checkpoint manager over them, registering only what Ray registers; the trial is written to
disk as Ray leaves it: result.json with every row, the checkpoint dirs Ray did not delete, and an
experiment_state whose pickled checkpoint manager holds the reference's final list and latest.
ckpt-tui must then keep exactly what is on disk under the run's config (Ray already pruned it),
and under any other config agree with the reference replaying the registered reports only."""

from __future__ import annotations

import json
import os
import pickle
import time
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan
from tests.ray_reference import Manager, survivors

TRIAL = "fn_abc12_00000_0_seed=1_2026-12-01_10-00-00"


@contextmanager
def ray_classes():
    """Stand-ins pickled under Ray's module and class names (nothing imports them: see _Pickler)."""
    out = {}
    for module, name in (
        ("ray.train._internal.checkpoint_manager", "_CheckpointManager"),
        ("ray.train._internal.session", "_TrainingResult"),
        ("ray.tune", "Checkpoint"),
        ("ray.tune", "CheckpointConfig"),
    ):
        cls = type(name, (), {"__module__": module})
        cls.__qualname__ = name
        out[name] = cls
    yield out


class _Pickler(pickle._Pickler):
    """The standard pickler writing a class by its module and name without importing it."""

    def save_global(self, obj, name=None):
        self.save(obj.__module__)
        self.save(name or obj.__qualname__)
        self.write(pickle.STACK_GLOBAL)
        self.memoize(obj)


def dumps(obj) -> bytes:
    import io

    buf = io.BytesIO()
    _Pickler(buf, protocol=5).dump(obj)
    return buf.getvalue()


def _obj(cls, **state):
    o = cls.__new__(cls)
    o.__dict__.update(state)
    return o


def manager_pickle(classes, m: Manager, rows: list, trial_dir: str, config: dict) -> bytes:
    def result(i):
        return _obj(
            classes["_TrainingResult"],
            checkpoint=_obj(classes["Checkpoint"], path=f"{trial_dir}/{rows[i]['checkpoint_dir_name']}"),
            metrics=rows[i],
        )

    results = {i: result(i) for i in set(m.kept) | ({m.latest} if m.latest is not None else set())}
    mgr = _obj(
        classes["_CheckpointManager"],
        _checkpoint_config=_obj(classes["CheckpointConfig"], **config),
        _checkpoint_results=[results[i] for i in m.kept],
        _latest_checkpoint_result=results[m.latest] if m.latest is not None else None,
    )
    return dumps(mgr)


value = st.one_of(st.floats(-5, 5, allow_nan=False).map(lambda x: round(x, 1)), st.just(float("nan")))
report = st.one_of(st.fixed_dictionaries({"m": value}), st.fixed_dictionaries({"other": value}))
session = st.tuples(st.lists(report, min_size=1, max_size=5), st.booleans())  # (reports, last save pending)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    sessions=st.lists(session, min_size=1, max_size=4),
    k=st.one_of(st.none(), st.integers(1, 3)),
    attr=st.sampled_from([None, "m"]),
    order=st.sampled_from(["max", "min"]),
    other=st.tuples(
        st.one_of(st.none(), st.integers(1, 3)), st.sampled_from([None, "m"]), st.sampled_from(["max", "min"])
    ),
)
def test_plan_follows_what_ray_registered(tmp_path_factory, sessions, k, attr, order, other):
    root = tmp_path_factory.mktemp("run")
    trial_dir = root / TRIAL
    trial_dir.mkdir()
    ray = Manager(k, attr, order)
    rows: list[dict] = []
    registered: list[bool] = []
    on_disk: set[str] = set()
    step = 0
    for reports, pending_last in sessions:
        index = sum(registered)  # a session numbers its checkpoints from what Ray registered
        for j, metrics in enumerate(reports):
            step += 1
            name = f"checkpoint_{index:06d}"
            index += 1
            row = dict(metrics, training_iteration=step, timestamp=1796120000 + step, checkpoint_dir_name=name)
            i = ray.report(row)
            rows.append(row)
            on_disk.add(name)  # the save writes the dir (over an unregistered one of the same name)
            is_registered = not (pending_last and j == len(reports) - 1)
            registered.append(is_registered)
            if is_registered:
                before = set(ray.deleted)
                ray.register(i)
                for gone in set(ray.deleted) - before:
                    on_disk.discard(rows[gone]["checkpoint_dir_name"])
    for name in on_disk:
        (trial_dir / name).mkdir()
        (trial_dir / name / "model.bin").write_bytes(b"x")
    with open(trial_dir / "result.json", "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    config = {
        "num_to_keep": k,
        "checkpoint_score_attribute": attr,
        "checkpoint_score_order": order,
        "checkpoint_frequency": 0,
        "checkpoint_at_end": False,
    }
    with ray_classes() as classes:
        blob = manager_pickle(classes, ray, rows, f"/somewhere/else/{root.name}/{TRIAL}", config)
        config_blob = dumps(_obj(classes["CheckpointConfig"], **config))
    info = {"relative_logdir": TRIAL, "status": "TERMINATED"}
    state = {
        "trial_data": [
            [
                json.dumps(info),
                json.dumps({"checkpoint_manager": {"_type": "CLOUDPICKLE_FALLBACK", "value": blob.hex()}}),
            ]
        ],
        "runner_data": {"_trial_checkpoint_config": {"_type": "CLOUDPICKLE_FALLBACK", "value": config_blob.hex()}},
    }
    state_path = root / "experiment_state-2026-12-01_10-00-00.json"
    state_path.write_text(json.dumps(state))
    old = time.time() - 3600  # a finished run: its state is not being rewritten
    os.utime(state_path, (old, old))

    run = read_run(str(root))
    assert run.run_config.num_to_keep == k
    p = plan(run, run.run_config)
    assert p.delete_count == 0  # Ray already pruned it
    assert sorted(c.name for c in run.checkpoints()) == sorted(on_disk)
    trial = run.trials[TRIAL]
    assert len(trial.reports) == sum(registered)
    assert all(c.tracked is (c.report is not None) for c in trial.checkpoints)

    # Another config: the reference replaying what Ray registered, on what is on disk now
    k2, attr2, order2 = other
    p2 = plan(run, CheckpointConfig(num_to_keep=k2, checkpoint_score_attribute=attr2, checkpoint_score_order=order2))
    reg_rows = [r for r, ok in zip(rows, registered) if ok]
    expected = {reg_rows[i]["checkpoint_dir_name"] for i in survivors(reg_rows, k2, attr2, order2)}
    kept_tracked = {c.name for c in trial.checkpoints if c.report is not None and p2.decisions[c].keep}
    tracked = {c.name for c in trial.checkpoints if c.report is not None}
    assert kept_tracked == expected & tracked
    assert all(p2.decisions[c].keep for c in trial.checkpoints if c.report is None)  # untracked: kept
