"""Snapshot tests (pytest-textual-snapshot) of the main screen, the confirm dialog and help.

Deterministic by construction: a fixed terminal size, a fixed clock with fixed checkpoint
mtimes (ages), the run shown as 'keep_all' instead of its temporary absolute path, sizes read
before the app starts (no progress text), and no watcher. Update with --snapshot-update.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.readers import read_run
from ckpt_tui.ui.app import CheckpointApp
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from tests.conftest import RAY_RUNS

RUNS = RAY_RUNS
SIZE = (120, 35)
WRITTEN = 1_795_825_000.0  # the checkpoints' mtime, in the run's own time (2026-11-28)
NOW = WRITTEN + 5 * 3600.0  # five hours later
K3_MIN = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")


def snapshot_app(tmp_path: Path, name: str = "keep_all", config: CheckpointConfig = K3_MIN) -> CheckpointApp:
    root = tmp_path / name
    shutil.copytree(RUNS / name, root)
    for ckpt in root.glob("*/checkpoint_*"):
        for f in ckpt.rglob("*"):
            os.utime(f, (WRITTEN, WRITTEN))  # a checkpoint's age is its newest file's
        os.utime(ckpt, (WRITTEN, WRITTEN))
    run = read_run(str(root), sizes=True)
    return CheckpointApp(run, config, watch=False, now=lambda: NOW, shown_root=name)


async def _wait_for(pilot, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def test_main_screen(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE)


def test_main_screen_80x24(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24))


def test_confirm_delete_dialog(snap_compare, tmp_path):
    app = snapshot_app(tmp_path)

    async def open_dialog(pilot):
        await pilot.press("d")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_dialog)


def test_help_screen(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, press=["question_mark"])
