"""Shared fixtures: tmp copies of the real Ray runs, and small runs written in Ray's layouts."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import settings

RAY_RUNS = Path(__file__).parent / "ray_runs"

# Hypothesis keeps no example database in the checkout: every run starts from the same seeds'
# strategies, and the suite writes nothing outside its temp dirs.
settings.register_profile("ckpt-tui", database=None)
settings.load_profile("ckpt-tui")


@pytest.fixture(scope="session", autouse=True)
def _private_home(tmp_path_factory):
    """Nothing the suite runs writes into the user's home: the app's journals of object-store
    deletions go under ``$XDG_STATE_HOME``, and HOME itself points into a temp dir, for this
    process and every ``ckpt-tui`` it starts (they inherit the environment)."""
    home = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    os.environ["HOME"] = str(home)
    os.environ["XDG_STATE_HOME"] = str(home / ".local" / "state")
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["XDG_CACHE_HOME"] = str(home / ".cache")
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def copy_ray_run(name: str, base: Path, aged: bool = False) -> Path:
    """A copy of one of the real Ray runs (``tests/ray_runs/NAME``) at ``base/NAME``, which tests
    may change. ``aged``: as a finished run looks, an hour old (a fresh git clone makes every
    file brand new, and young checkpoints are protected by the grace period) and writable."""
    dest = base / name
    shutil.copytree(RAY_RUNS / name, dest, symlinks=True)
    if aged:
        old = time.time() - 3600
        for root, dirs, files in os.walk(dest, topdown=False):
            for n in dirs + files:
                path = os.path.join(root, n)
                os.chmod(path, 0o755 if n in dirs else 0o644)
                os.utime(path, (old, old))
        os.chmod(dest, 0o755)
        os.utime(dest, (old, old))
    return dest


@pytest.fixture
def ray_run(tmp_path):
    """Copy one of the real Ray runs into tmp_path, an hour old, and return its path."""

    def copy(name: str) -> Path:
        return copy_ray_run(name, tmp_path, aged=True)

    return copy


def _json_line(obj: dict) -> str:
    # Ray writes NaN/Infinity literals; json.dumps does the same by default.
    return json.dumps(obj)


def write_tune_trial(trial_dir: Path, reports: list[dict], make_dirs: bool = True, size: int = 16) -> Path:
    """A Tune trial dir: one checkpoint per report (unless the report says checkpoint=False)."""
    trial_dir.mkdir(parents=True, exist_ok=True)
    (trial_dir / "params.json").write_text(json.dumps({"seed": 0}))
    lines = []
    for i, metrics in enumerate(reports):
        metrics = dict(metrics)
        has_ckpt = metrics.pop("__checkpoint__", True)
        name = f"checkpoint_{i:06d}" if has_ckpt else None
        line = {**metrics, "checkpoint_dir_name": name, "training_iteration": i + 1}
        lines.append(_json_line(line))
        if name and make_dirs:
            d = trial_dir / name
            d.mkdir()
            (d / "model.bin").write_bytes(b"x" * size * (i + 1))
    (trial_dir / "result.json").write_text("\n".join(lines) + ("\n" if lines else ""))
    return trial_dir


def write_tune_run(root: Path, trials: list[list[dict]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for t, reports in enumerate(trials):
        write_tune_trial(root / f"trainable_abcde_{t:05d}_{t}_seed={t}_2026-01-01_00-00-00", reports)
    return root


def write_v2_run(root: Path, scores: list, keep: list[int] | None = None, attr: str = "score") -> Path:
    """A Train v2 run with one checkpoint per report; ``keep`` = report indices still on disk
    and in the snapshot (default all), as Ray would leave after pruning."""
    root.mkdir(parents=True, exist_ok=True)
    keep = list(range(len(scores))) if keep is None else keep
    results = []
    names = {}
    for i in range(len(scores)):
        names[i] = f"checkpoint_2026-01-01_00-00-{i:02d}.{i:06d}"
    for i in keep:
        (root / names[i]).mkdir()
        (root / names[i] / "model.txt").write_text("m" * (i + 1))
        metrics = {"step": i} if score_missing(scores[i]) else {attr: scores[i], "step": i}
        results.append({"version": 0, "checkpoint_dir_name": names[i], "metrics": metrics})
    last = len(scores) - 1
    latest = next((r for r in results if r["checkpoint_dir_name"] == names[last]), None)
    snapshot = {
        "ray_version": "2.60.0",
        "checkpoint_results": results,
        "checkpoint_report_indices": list(keep),
        "latest_checkpoint_result": latest,
        "current_report_index": len(scores),
    }
    (root / "checkpoint_manager_snapshot.json").write_text(json.dumps(snapshot))
    return root


def score_missing(value) -> bool:
    return value is None


def isnan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def mark_running(root, trial_name: str) -> None:
    """Make ``root``'s experiment state read as a live run's: ``trial_name`` RUNNING and the file
    just written. Reports newer than the state on a RUNNING trial of a live run are pending
    registrations (counted as registered, as Ray will); on a stopped run Ray never registers them."""
    state_path = sorted(Path(root).glob("experiment_state-*.json"))[-1]
    state = json.loads(state_path.read_text())
    for item in state["trial_data"]:
        info = json.loads(item[0])
        if info["relative_logdir"] == trial_name:
            info["status"] = "RUNNING"
            item[0] = json.dumps(info)
    state_path.write_text(json.dumps(state))


# The S3 server and buckets (tests/s3_fixtures.py): only the tests that ask for them start it.
try:
    from tests.s3_fixtures import s3, s3_endpoint  # noqa: F401
except BaseException:  # noqa: BLE001 - s3fs / moto not installed: the S3 tests skip themselves
    pass


def run_cli(argv) -> tuple[int, str, str]:
    """``ckpt-tui ARGV`` in this process (the CLI's own ``main``): exit code, stdout, stderr."""
    from ckpt_tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()
