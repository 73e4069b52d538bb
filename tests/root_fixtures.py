"""A storage root arranged from the real Ray runs in tests/ray_runs, for the root-mode tests.

Layout (as users have them: experiments side by side, some grouped deeper)::

    root/
      s8_shared/exp_a, s8_shared/exp_b   two Tuner.fit() calls sharing one storage_path
      keep_all/                          Tune, Ray's default CheckpointConfig
      sweeps/2026/k3_loss_min/           Tune, keep 3 by loss (min), grouped two levels deeper
      train/v2/runs/train_v2_k2_score_max/  Train v2, grouped three levels deeper
      notes/                             no run: a dir with a text file, searched and skipped
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

RAY_RUNS = Path(__file__).parent / "ray_runs"

ROOT_EXPERIMENTS = {
    "keep_all": "keep_all",
    "s8_shared/exp_a": "round2/s8_shared/exp_a",
    "s8_shared/exp_b": "round2/s8_shared/exp_b",
    "sweeps/2026/k3_loss_min": "k3_loss_min",
    "train/v2/runs/train_v2_k2_score_max": "train_v2_k2_score_max",
}


def make_writable_and_old(dest: Path) -> None:
    old = time.time() - 3600
    for root, dirs, files in os.walk(dest, topdown=False):
        for n in dirs + files:
            path = os.path.join(root, n)
            os.chmod(path, 0o755 if n in dirs else 0o644)
            os.utime(path, (old, old))
    os.chmod(dest, 0o755)
    os.utime(dest, (old, old))


def make_root(base: Path) -> Path:
    root = base / "ray_results"
    for rel, source in ROOT_EXPERIMENTS.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(RAY_RUNS / source, dest, symlinks=True)
    (root / "notes").mkdir()
    (root / "notes" / "README.txt").write_text("not a run\n")
    make_writable_and_old(root)
    return root


def copy_run(base: Path, source: str) -> Path:
    dest = base / Path(source).name
    shutil.copytree(RAY_RUNS / source, dest, symlinks=True)
    make_writable_and_old(dest)
    return dest
