"""A run in Ray Tune's layout, written and kept growing for ``ckpt-tui --demo``.

Core level: stdlib only (no Textual, no watchdog). The files are shaped like what Ray 2.60
writes (see tests/ray_runs/keep_all): ``experiment_state-<date>.json`` with plain-JSON trial
data and a pickled ``CheckpointConfig``, trial dirs ``trainable_<id>_<NNNNN>_<N>_lr=..._<date>/``
with ``params.json``, ``result.json`` (JSON lines, ``NaN`` literals) and ``checkpoint_NNNNNN/``
dirs each holding a ``model.bin`` of a few KB.

The run's own config keeps everything, scored by ``loss`` (min): the situation where disks fill
up. One running trial reports NaN losses now and then and leaves ``acc`` out of every third
report, so the app shows the NaN rule and (with ``acc`` as the attribute) the missing-key rule.

Everything but the clock is a function of ``seed``; pass ``start_time`` to fix the clock too.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import struct
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

log = logging.getLogger(__name__)

TRAINABLE = "trainable"
HOSTNAME = "demo-node"
NODE_IP = "192.0.2.10"  # TEST-NET-1: an address that is nobody's
REPORT_SPACING = 45.0  # seconds between the reports written at create time
RUN_CONFIG = {
    "num_to_keep": None,
    "checkpoint_score_attribute": "loss",
    "checkpoint_score_order": "min",
    "checkpoint_frequency": 0,
    "checkpoint_at_end": False,  # what Tune stores after filling in its default
    "_checkpoint_keep_all_ranks": "DEPRECATED",
    "_checkpoint_upload_from_workers": "DEPRECATED",
}


@dataclass
class _Trial:
    index: int
    trial_id: str  # Ray's "<experiment>_<NNNNN>"
    dirname: str
    config: dict
    status: str
    flaky: bool  # reports NaN losses and leaves out acc
    model_bytes: int
    rng: random.Random
    pid: int
    iteration: int = 0
    time_total: float = 0.0
    last_result: dict = field(default_factory=dict)


class DemoRun:
    """Write a Tune run to ``root`` (a new temp dir when None) and keep adding checkpoints."""

    def __init__(
        self, root: Optional[str] = None, trials: int = 4, seed: int = 0, start_time: Optional[float] = None
    ) -> None:
        if trials < 1:
            raise ValueError("trials must be >= 1")
        self.root = os.path.abspath(root) if root is not None else None
        self.n_trials = trials
        self.seed = seed
        self._fixed_clock = start_time is not None
        self.start_time = start_time
        self.path: Optional[str] = None
        self.trials: list[_Trial] = []
        self.steps = 0
        self._tmp: Optional[str] = None
        self._pick = random.Random(f"ckpt-tui-demo-pick-{seed}")
        self._clock = 0.0
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()

    @property
    def _dir(self) -> str:
        """The run's path, for the writers that run only after create() set it."""
        assert self.path is not None, "DemoRun: written to before create()"
        return self.path

    # ---- writing the run ---------------------------------------------------------------------
    def create(self) -> str:
        """Write the run and return its path."""
        if self.path is not None:
            raise RuntimeError("DemoRun.create() called twice")
        if self.root is None:
            self._tmp = tempfile.mkdtemp(prefix="ckpt-tui-demo-")
            path = os.path.join(self._tmp, "demo_experiment")
        else:
            path = self.root
            if os.path.isdir(path) and os.listdir(path):
                raise FileExistsError(f"{path} is not empty: the demo writes a new run")
        os.makedirs(path, exist_ok=True)
        self.path = path
        now = self.start_time if self.start_time is not None else time.time()
        rng = random.Random(f"ckpt-tui-demo-{self.seed}")
        experiment = f"{rng.getrandbits(20):05x}"
        # as many reports as the longest trial, spaced out, ending just before now
        counts = [rng.randint(5, 12) for _ in range(self.n_trials)]
        t0 = now - (max(counts) + 1) * REPORT_SPACING
        self.date = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(t0))
        self._t0 = t0
        flaky = 1 if self.n_trials > 1 else 0
        finished = max(1, self.n_trials // 4) if self.n_trials > 1 else 0
        for i in range(self.n_trials):
            lr = round(10 ** rng.uniform(-4, -1), 5)
            batch = rng.choice([16, 32, 64, 128])
            trial_id = f"{experiment}_{i:05d}"
            tag = f"{i}_batch_size={batch},lr={lr:.4f}"
            self.trials.append(
                _Trial(
                    index=i,
                    trial_id=trial_id,
                    dirname=f"{TRAINABLE}_{trial_id}_{tag}_{self.date}",
                    config={"lr": lr, "batch_size": batch},
                    status="TERMINATED" if i < finished else "RUNNING",
                    flaky=i == flaky,
                    model_bytes=1024 * (2 + 3 * i) + rng.randrange(512),
                    rng=random.Random(f"ckpt-tui-demo-{self.seed}-trial-{i}"),
                    pid=10_000 + rng.randrange(50_000),
                )
            )
        for trial, count in zip(self.trials, counts):
            tdir = os.path.join(path, trial.dirname)
            os.makedirs(tdir)
            with open(os.path.join(tdir, "params.json"), "w", encoding="utf-8") as f:
                json.dump(trial.config, f, indent=2, sort_keys=True)
            open(os.path.join(tdir, "result.json"), "w").close()
            for k in range(count):
                ts = t0 + (k + 1) * REPORT_SPACING + trial.index
                self._report(trial, ts)
        self._clock = now
        self._write_experiment_state(now)
        return path

    def _report(self, trial: _Trial, ts: float) -> str:
        """Write one checkpoint dir, then append its result.json line: Ray's order."""
        trial.iteration += 1
        it = trial.iteration
        name = f"checkpoint_{it - 1:06d}"
        tdir = os.path.join(self._dir, trial.dirname)
        cdir = os.path.join(tdir, name)
        os.makedirs(cdir, exist_ok=True)
        model = os.path.join(cdir, "model.bin")
        with open(model, "wb") as f:
            f.write(trial.rng.randbytes(trial.model_bytes))
        metrics = self._metrics(trial, it)
        step_s = round(trial.rng.uniform(8.0, 40.0), 6)
        trial.time_total = round(trial.time_total + step_s, 6)
        result = {
            **metrics,
            "timestamp": int(ts),
            "checkpoint_dir_name": name,
            "should_checkpoint": True,
            "done": False,
            "training_iteration": it,
            "trial_id": trial.trial_id,
            "date": time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(ts)),
            "time_this_iter_s": step_s,
            "time_total_s": trial.time_total,
            "pid": trial.pid,
            "hostname": HOSTNAME,
            "node_ip": NODE_IP,
            "config": dict(trial.config),
            "time_since_restore": trial.time_total,
            "iterations_since_restore": it,
        }
        with open(os.path.join(tdir, "result.json"), "a", encoding="utf-8") as f:
            f.write(json.dumps(result) + "\n")  # NaN literals, as Ray writes them
        for p in (model, cdir):
            os.utime(p, (ts, ts))
        trial.last_result = result
        return name

    def _metrics(self, trial: _Trial, it: int) -> dict:
        r = trial.rng
        lr = trial.config["lr"]
        rate = 0.04 + 6.0 * lr
        loss = 2.3 * math.exp(-rate * it) + 0.05 + r.uniform(-0.04, 0.04) * (1 + 1 / it)
        acc = min(0.995, 0.1 + 0.88 * (1 - math.exp(-rate * 1.3 * it)) + r.uniform(-0.02, 0.02))
        out: dict = {"loss": round(max(loss, 0.001), 4)}
        if trial.flaky and r.random() < 0.3:
            out["loss"] = float("nan")
        if not (trial.flaky and it % 3 == 0):
            out["acc"] = round(max(acc, 0.0), 4)
        out["nested"] = {"val": round(r.uniform(-5, 5), 3)}
        return out

    def _write_experiment_state(self, now: float) -> None:
        trial_data = []
        for t in self.trials:
            info = {
                "stub": False,
                "trainable_name": TRAINABLE,
                "trial_id": t.trial_id,
                "config": dict(t.config),
                "_Trial__unresolved_config": dict(t.config),
                "evaluated_params": dict(t.config),
                "experiment_tag": t.dirname[len(TRAINABLE) + len(t.trial_id) + 2 : -len(self.date) - 1],
                "stopping_criterion": {},
                "max_failures": 0,
                "export_formats": [],
                "status": t.status,
                "relative_logdir": t.dirname,
                "trial_name_creator": None,
                "trial_dirname_creator": None,
                "custom_trial_name": None,
                "custom_dirname": None,
                "restore_path": None,
            }
            runtime = {
                "start_time": self._t0 + t.index,
                "num_failures": 0,
                "num_failures_after_restore": 0,
                "error_filename": None,
                "pickled_error_filename": None,
                "last_result": t.last_result,
            }
            trial_data.append([json.dumps(info, indent=2), json.dumps(runtime, indent=2)])
        state = {
            "trial_data": trial_data,
            "runner_data": {
                "_metric": None,
                "_iteration": sum(t.iteration for t in self.trials),
                "_has_errored": False,
                "_fail_fast": False,
                "_session_str": self.date,
                "_checkpoint_period": "auto",
                "_trial_checkpoint_config": {
                    "_type": "CLOUDPICKLE_FALLBACK",
                    "value": checkpoint_config_pickle(RUN_CONFIG).hex(),
                },
                "_resumed": False,
            },
            "stats": {"start_time": self._t0},
        }
        final = os.path.join(self._dir, f"experiment_state-{self.date}.json")
        tmp = final + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=2)
        os.replace(tmp, final)
        with open(os.path.join(self._dir, f"basic-variant-state-{self.date}.json"), "w") as f:
            json.dump({"_variant_generator": [], "_trial_generator": [], "_iter": self.n_trials, "_finished": True}, f)

    # ---- growing -----------------------------------------------------------------------------
    def step(self) -> Optional[tuple[str, str]]:
        """One new report with a checkpoint for one RUNNING trial: (trial dir name, checkpoint
        name), or None when no trial is running."""
        if self.path is None:
            raise RuntimeError("DemoRun.step() before create()")
        with self._lock:
            running = [t for t in self.trials if t.status == "RUNNING"]
            if not running:
                return None
            trial = self._pick.choice(running)
            if self._fixed_clock:
                self._clock += REPORT_SPACING
                ts = self._clock
            else:
                ts = time.time()
            name = self._report(trial, ts)
            self.steps += 1
            return trial.dirname, name

    def start(self, interval: float = 1.0) -> None:
        """Call step() every ``interval`` seconds on a background thread."""
        if self.path is None:
            self.create()
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="ckpt-tui-demo", daemon=True)
        self._thread.start()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                if self.step() is None:
                    return
            except OSError:  # the run was removed or made read-only under us: stop quietly
                log.warning("demo: could not add a checkpoint; stopping", exc_info=True)
                return

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def cleanup(self) -> None:
        """Stop, and remove the temp dir if this DemoRun created it (a given root is left)."""
        self.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> DemoRun:
        if self.path is None:
            self.create()
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


# ---- a pickle of Ray's CheckpointConfig, written opcode by opcode -------------------------------
# What cloudpickle writes for ``ray.tune.CheckpointConfig(...)`` with protocol 5: the class by
# module and name (STACK_GLOBAL), an object made with no arguments (NEWOBJ), then its __dict__
# (BUILD). Written by hand because importing Ray is out of the question here.


def _str(value: str) -> bytes:
    data = value.encode("utf-8")
    if len(data) < 256:
        return b"\x8c" + bytes([len(data)]) + data + b"\x94"  # SHORT_BINUNICODE, MEMOIZE
    return b"X" + struct.pack("<I", len(data)) + data + b"\x94"  # BINUNICODE, MEMOIZE


def _value(value) -> bytes:
    if value is None:
        return b"N"
    if value is True:
        return b"\x88"
    if value is False:
        return b"\x89"
    if isinstance(value, int):
        if 0 <= value < 256:
            return b"K" + bytes([value])
        if -(2**31) <= value < 2**31:
            return b"J" + struct.pack("<i", value)
        raise ValueError(f"int out of range for this writer: {value}")
    if isinstance(value, float):
        return b"G" + struct.pack(">d", value)
    if isinstance(value, str):
        return _str(value)
    raise TypeError(f"cannot write {type(value).__name__}")


def checkpoint_config_pickle(fields: dict, module: str = "ray.tune", name: str = "CheckpointConfig") -> bytes:
    body = bytearray()
    body += _str(module) + _str(name) + b"\x93\x94"  # STACK_GLOBAL, MEMOIZE
    body += b")\x81\x94"  # EMPTY_TUPLE, NEWOBJ, MEMOIZE
    body += b"}\x94("  # EMPTY_DICT, MEMOIZE, MARK
    for key, value in fields.items():
        body += _str(key) + _value(value)
    body += b"ub."  # SETITEMS, BUILD, STOP
    return b"\x80\x05\x95" + struct.pack("<Q", len(body)) + bytes(body)  # PROTO 5, FRAME


__all__ = ["DemoRun", "checkpoint_config_pickle", "RUN_CONFIG"]
