"""Generate the reference run for the benchmarks: a Ray Tune experiment directory, laid out
exactly as Ray 2.60 writes one (see tests/ray_runs/keep_all), at any size.

    python benchmarks/generate.py                     # 1,000 trials x 100 checkpoints
    python benchmarks/generate.py --trials 3 --checkpoints 4 --out /tmp/small

Per trial: ``trainable_<exp>_<NNNNN>_<i>_seed=<s>_<date>/`` holding ``checkpoint_NNNNNN/``
dirs (one small ``model.bin`` each, a checkpoint on every report), ``result.json`` (one JSON
object per line, the keys Ray writes, ``NaN`` literals, ``acc`` missing from every fourth report
counting from the third, a nested ``nested/val``), ``progress.csv``, ``params.json``,
``params.pkl`` and an ``events.out.tfevents.*`` file. At the run level:
``experiment_state-<date>.json`` (trial_data entries with statuses, and the run's pickled
``CheckpointConfig()`` copied from a real run), ``basic-variant-state-<date>.json``,
``tuner.pkl`` and ``.validate_storage_marker``.

Generating 100,000 checkpoints takes a while, so a run whose marker file
(``.ckpt-tui-bench.json``) records the same parameters is reused as it is. Benchmarks that write
into the run (the ``live`` one) flag the marker dirty first and clear the flag once they have
put the run back; a dirty run is regenerated.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import shutil
import sys
import time
from typing import Optional

GENERATOR_VERSION = 1
MARKER = ".ckpt-tui-bench.json"
EXP_ID = "b3c4d"
DATE = "2026-11-28_00-17-22"
START_TS = 1795825044
HOSTNAME = "vm"
NODE_IP = "192.0.2.2"

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIR = os.path.join(REPO, "bench-data")

# Copied from tests/ray_runs/keep_all/experiment_state-*.json, runner_data: what Ray pickles for
# CheckpointConfig() (keep every checkpoint), which is true of a run that kept them all.
CHECKPOINT_CONFIG_HEX = (
    "800595f1000000000000008c087261792e74756e65948c10436865636b706f696e74436f6e6669679493942981"
    "947d94288c0b6e756d5f746f5f6b656570944e8c1a636865636b706f696e745f73636f72655f61747472696275"
    "7465944e8c16636865636b706f696e745f73636f72655f6f72646572948c036d6178948c14636865636b706f69"
    "6e745f6672657175656e6379944b008c11636865636b706f696e745f61745f656e6494898c1a5f636865636b70"
    "6f696e745f6b6565705f616c6c5f72616e6b73948c0a44455052454341544544948c1f5f636865636b706f696e"
    "745f75706c6f61645f66726f6d5f776f726b65727394680c75622e"
)
# Other pickled bits of trial_data, as Ray writes them ("80054e2e" is pickled None).
PICKLED_NONE = "80054e2e"
STOPPER_HEX = (
    "8005952c000000000000008c157261792e74756e652e73746f707065722e6e6f6f70948c0b4e6f6f7053746f707065729493942981942e"
)
PGF_HEX = (
    "800595aa000000000000008c237261792e74756e652e657865637574696f6e2e706c6163656d656e745f67726f"
    "757073948c15506c6163656d656e7447726f7570466163746f72799493942981947d94288c085f62756e646c65"
    "73945d947d948c0343505594473ff000000000000073618c155f686561645f62756e646c655f69735f656d7074"
    "7994898c095f7374726174656779948c045041434b948c055f6172677394298c075f6b7761726773947d947562"
    "2e"
)
# Stand-in for a trial's pickled _CheckpointManager: an opaque hex blob of the size Ray writes
# for a trial with a handful of checkpoints (~10 kB). Nothing reads it.
CHECKPOINT_MANAGER_BLOB = "800595e5140000000000008c267261792e747261696e2e5f696e7465726e616c2e" + "94" * 5300 + "2e"

PROGRESS_COLUMNS = [
    "loss",
    "acc",
    "timestamp",
    "checkpoint_dir_name",
    "should_checkpoint",
    "done",
    "training_iteration",
    "trial_id",
    "date",
    "time_this_iter_s",
    "time_total_s",
    "pid",
    "hostname",
    "node_ip",
    "time_since_restore",
    "iterations_since_restore",
    "nested/val",
]


def trial_dir_name(t: int) -> str:
    return f"trainable_{EXP_ID}_{t:05d}_{t}_seed={t + 1}_{DATE}"


def checkpoint_size(t: int, c: int) -> int:
    """Bytes of the one file in checkpoint ``c`` of trial ``t``: small and varied."""
    return 256 + (t * 31 + c * 17) % 769


def trial_status(t: int, trials: int) -> str:
    if trials > 3 and t % 50 == 7:
        return "ERROR"
    if t >= trials - max(1, trials // 10):
        return "RUNNING"
    return "TERMINATED"


def report(t: int, c: int, checkpoints: int, rng: random.Random, elapsed: float) -> dict:
    """One line of result.json, keys in Ray's order."""
    loss = round(rng.random(), 4)
    if rng.random() < 0.1:
        loss = float("nan")
    acc = round(rng.random(), 3)
    val = round(rng.uniform(-5, 5), 2)
    step = 0.001 + rng.random() * 0.003
    elapsed += step
    it = c + 1
    obj: dict = {"loss": loss}
    if it % 4 != 3:
        obj["acc"] = acc
    obj["nested"] = {"val": val}
    obj.update(
        {
            "timestamp": START_TS + c,
            "checkpoint_dir_name": f"checkpoint_{c:06d}",
            "should_checkpoint": True,
            "done": it == checkpoints,
            "training_iteration": it,
            "trial_id": f"{EXP_ID}_{t:05d}",
            "date": DATE,
            "time_this_iter_s": step,
            "time_total_s": elapsed,
            "pid": 4000 + t,
            "hostname": HOSTNAME,
            "node_ip": NODE_IP,
            "config": {"seed": t + 1, "iters": checkpoints, "missing": True},
            "time_since_restore": elapsed,
            "iterations_since_restore": it,
        }
    )
    return obj


def _csv(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v != v:
        return "nan"
    return str(v)


def write_trial(root: str, t: int, checkpoints: int, payload: bytes) -> dict:
    """Write one trial dir; returns its last report."""
    name = trial_dir_name(t)
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    rng = random.Random(t + 1)
    lines = []
    csv_rows = [",".join(PROGRESS_COLUMNS)]
    elapsed = 0.0
    last: dict = {}
    for c in range(checkpoints):
        obj = report(t, c, checkpoints, rng, elapsed)
        elapsed = obj["time_total_s"]
        lines.append(json.dumps(obj))
        flat = dict(obj)
        flat["nested/val"] = flat.pop("nested")["val"]
        csv_rows.append(",".join(_csv(flat.get(k)) for k in PROGRESS_COLUMNS))
        ckpt = os.path.join(path, f"checkpoint_{c:06d}")
        os.mkdir(ckpt)
        with open(os.path.join(ckpt, "model.bin"), "wb") as f:
            f.write(payload[: checkpoint_size(t, c)])
        last = obj
    with open(os.path.join(path, "result.json"), "w") as f:
        f.write("\n".join(lines) + ("\n" if lines else ""))
    with open(os.path.join(path, "progress.csv"), "w") as f:
        f.write("\n".join(csv_rows) + "\n")
    params = {"iters": checkpoints, "missing": True, "seed": t + 1}
    with open(os.path.join(path, "params.json"), "w") as f:
        json.dump(params, f, indent=2, sort_keys=True)
    with open(os.path.join(path, "params.pkl"), "wb") as f:
        f.write(pickle.dumps(params, protocol=5))  # written, never read: nothing unpickles
    with open(os.path.join(path, f"events.out.tfevents.{START_TS + t}.{HOSTNAME}"), "wb") as f:
        f.write(b"\x00" * 128)
    return last


def trial_data(t: int, trials: int, checkpoints: int, last: dict) -> list:
    name = trial_dir_name(t)
    config = {"seed": t + 1, "iters": checkpoints, "missing": True}
    meta = {
        "stub": False,
        "trainable_name": "trainable",
        "trial_id": f"{EXP_ID}_{t:05d}",
        "storage": {"_type": "CLOUDPICKLE_FALLBACK", "value": PICKLED_NONE},
        "config": config,
        "_Trial__unresolved_config": config,
        "evaluated_params": {"seed": t + 1},
        "experiment_tag": f"{t}_seed={t + 1}",
        "stopping_criterion": {},
        "_setup_default_resource": True,
        "_default_placement_group_factory": PICKLED_NONE,
        "placement_group_factory": PGF_HEX,
        "log_to_file": [None, None],
        "max_failures": 0,
        "_default_result_or_future": None,
        "export_formats": [],
        "status": trial_status(t, trials),
        "relative_logdir": name,
        "trial_name_creator": None,
        "trial_dirname_creator": None,
        "custom_trial_name": None,
        "custom_dirname": None,
        "restore_path": None,
        "_restore_checkpoint_result": None,
        "_state_json": None,
        "results": PICKLED_NONE,
        "extra_arg": PICKLED_NONE,
        "_resources": PICKLED_NONE,
    }
    last_result = dict(last)
    last_result["experiment_tag"] = meta["experiment_tag"]
    runtime = {
        "start_time": float(START_TS + t),
        "num_failures": 1 if meta["status"] == "ERROR" else 0,
        "num_failures_after_restore": 0,
        "error_filename": "error.txt" if meta["status"] == "ERROR" else None,
        "pickled_error_filename": None,
        "last_result": last_result,
        "last_result_time": float(START_TS + t) + 1.5,
        "metric_analysis": {},
        "_n_steps": [5, 10],
        "metric_n_steps": {},
        "checkpoint_manager": {"_type": "CLOUDPICKLE_FALLBACK", "value": CHECKPOINT_MANAGER_BLOB},
    }
    return [json.dumps(meta, indent=2), json.dumps(runtime, indent=2)]


def write_experiment_state(root: str, trials: int, checkpoints: int, lasts: list) -> None:
    state = {
        "trial_data": [trial_data(t, trials, checkpoints, lasts[t]) for t in range(trials)],
        "runner_data": {
            "_earliest_stopping_actor": 202.935904264,
            "_actor_cleanup_timeout": 600,
            "_actor_force_cleanup_timeout": 10,
            "_reuse_actors": False,
            "_buffer_length": 1,
            "_buffer_min_time_s": 0.0,
            "_buffer_max_time_s": 100.0,
            "_max_pending_trials": 200,
            "_metric": None,
            "_total_time": 0.04,
            "_iteration": trials * checkpoints,
            "_has_errored": any(trial_status(t, trials) == "ERROR" for t in range(trials)),
            "_fail_fast": False,
            "_print_trial_errors": True,
            "_cached_trial_decisions": {},
            "_queued_trial_decisions": {},
            "_should_stop_experiment": False,
            "_stopper": {"_type": "CLOUDPICKLE_FALLBACK", "value": STOPPER_HEX},
            "_start_time": float(START_TS),
            "_session_str": DATE,
            "_checkpoint_period": "auto",
            "_trial_checkpoint_config": {"_type": "CLOUDPICKLE_FALLBACK", "value": CHECKPOINT_CONFIG_HEX},
            "_resumed": False,
        },
        "stats": {"start_time": float(START_TS)},
    }
    tmp = os.path.join(root, f".experiment_state-{DATE}.json.tmp")
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2)
    os.replace(tmp, os.path.join(root, f"experiment_state-{DATE}.json"))


def default_out(trials: int, checkpoints: int) -> str:
    return os.path.join(DEFAULT_DIR, f"tune-{trials}x{checkpoints}")


def params_for(trials: int, checkpoints: int) -> dict:
    return {"generator": GENERATOR_VERSION, "trials": trials, "checkpoints": checkpoints}


def read_marker(out: str) -> Optional[dict]:
    try:
        with open(os.path.join(out, MARKER)) as f:
            marker = json.load(f)
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def write_marker(out: str, marker: dict) -> None:
    tmp = os.path.join(out, MARKER + ".tmp")
    with open(tmp, "w") as f:
        json.dump(marker, f, indent=2)
    os.replace(tmp, os.path.join(out, MARKER))


def set_dirty(out: str, dirty: bool) -> None:
    """Flag the run as being modified by a benchmark (cleared once it is put back)."""
    marker = read_marker(out) or {}
    marker["dirty"] = dirty
    write_marker(out, marker)


def generate(
    trials: int = 1000, checkpoints: int = 100, out: Optional[str] = None, force: bool = False, quiet: bool = False
) -> str:
    """The path of a run with these parameters: reused when its marker matches, else written."""
    out = os.path.abspath(out or default_out(trials, checkpoints))
    wanted = params_for(trials, checkpoints)
    marker = read_marker(out)
    if not force and marker is not None and not marker.get("dirty") and {k: marker.get(k) for k in wanted} == wanted:
        if not quiet:
            print(f"reusing {out} ({trials} trials x {checkpoints} checkpoints)", file=sys.stderr)
        return out
    if os.path.exists(out):
        if marker is None and os.listdir(out):
            raise SystemExit(f"{out} exists and was not written by this script (no {MARKER}): give another --out")
        shutil.rmtree(out)  # ours (the marker says so): stale parameters or left dirty
    os.makedirs(out)
    write_marker(out, dict(wanted, complete=False, dirty=True))
    started = time.perf_counter()
    payload = bytes(range(256)) * 5
    lasts = []
    for t in range(trials):
        lasts.append(write_trial(out, t, checkpoints, payload))
        if not quiet and trials >= 100 and (t + 1) % (trials // 10) == 0:
            print(f"  {t + 1}/{trials} trials written", file=sys.stderr)
    write_experiment_state(out, trials, checkpoints, lasts)
    with open(os.path.join(out, f"basic-variant-state-{DATE}.json"), "wb") as f:
        f.write(b"\x80\x05\x95\x00")
    with open(os.path.join(out, "tuner.pkl"), "wb") as f:
        f.write(bytes.fromhex(PICKLED_NONE))
    open(os.path.join(out, ".validate_storage_marker"), "w").close()
    write_marker(out, dict(wanted, complete=True, dirty=False, seconds=round(time.perf_counter() - started, 1)))
    if not quiet:
        print(
            f"generated {out} ({trials} trials x {checkpoints} checkpoints) in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--checkpoints", type=int, default=100, help="checkpoints (and reports) per trial")
    p.add_argument("--out", help="run directory (default: bench-data/tune-<trials>x<checkpoints>)")
    p.add_argument("--force", action="store_true", help="regenerate even if the marker matches")
    args = p.parse_args(argv)
    if args.trials < 1 or args.checkpoints < 1:
        p.error("--trials and --checkpoints must be >= 1")
    print(generate(args.trials, args.checkpoints, args.out, args.force))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
