"""Snapshot tests (pytest-textual-snapshot) of the main screen and of every dialog at 80x24,
the size people meet in an SSH session, including the confirmation for a 1,000-trial run.

Deterministic by construction: a fixed terminal size, a fixed clock with fixed checkpoint
mtimes (ages), the run shown by its name instead of its temporary absolute path, sizes read
before the app starts (no progress text), and no watcher. Update with --snapshot-update.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.readers import read_run
from ckpt_tui.ui.app import CheckpointApp
from ckpt_tui.ui.screens.choose_attribute import ChooseAttributeScreen
from ckpt_tui.ui.screens.choose_columns import ChooseColumnsScreen
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from ckpt_tui.ui.screens.help import HelpScreen
from ckpt_tui.ui.screens.number_input import NumberInputScreen
from ckpt_tui.ui.screens.sort import SortScreen
from ckpt_tui.ui.screens.text_list import TextListScreen
from tests.conftest import RAY_RUNS

RUNS = RAY_RUNS
REPO = Path(__file__).resolve().parents[2]
SIZE = (120, 35)
SMALL = (80, 24)
WRITTEN = 1_795_825_000.0  # the checkpoints' mtime, in the run's own time (2026-11-28)
NOW = WRITTEN + 5 * 3600.0  # five hours later
K3_MIN = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")


def _fix_mtimes(root: Path) -> None:
    for ckpt in root.glob("*/checkpoint_*"):
        for f in ckpt.rglob("*"):
            os.utime(f, (WRITTEN, WRITTEN))  # a checkpoint's age is its newest file's
        os.utime(ckpt, (WRITTEN, WRITTEN))


def snapshot_app(tmp_path: Path, name: str = "keep_all", config: CheckpointConfig = K3_MIN) -> CheckpointApp:
    root = tmp_path / name
    shutil.copytree(RUNS / name, root)
    _fix_mtimes(root)
    run = read_run(str(root), sizes=True)
    return CheckpointApp(run, config, watch=False, now=lambda: NOW, shown_root=name)


@pytest.fixture(scope="module")
def run_1000(tmp_path_factory) -> Path:
    """A 1,000-trial Ray Tune run as the benchmarks write it, three checkpoints per trial."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    root = Path(generate.generate(1000, 3, str(tmp_path_factory.mktemp("big") / "sweep"), quiet=True))
    _fix_mtimes(root)
    return root


async def _wait_for(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def _open(keys: list[str], screen_type, then: list[str] = ()):
    async def run_before(pilot):
        for key in keys:
            await pilot.press(key)
        await _wait_for(pilot, lambda: isinstance(pilot.app.screen, screen_type))
        for key in then:
            await pilot.press(key)
        await pilot.pause(0.3)  # scrolling is animated

    return run_before


def test_main_screen(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE)


def test_main_screen_80x24(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SMALL)


def test_confirm_delete_dialog(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=_open(["d"], ConfirmDeleteScreen))


def test_confirm_delete_dialog_80x24(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SMALL, run_before=_open(["d"], ConfirmDeleteScreen))


def test_confirm_delete_1000_trials_80x24(snap_compare, run_1000):
    """The totals, '1,000 trials: a, b, ... and 998 more', one line per path relative to the
    run with its mark, and the buttons and keys on screen (keep 1 of 3 in every trial)."""
    run = read_run(str(run_1000), sizes=True)
    config = CheckpointConfig(num_to_keep=1)
    app = CheckpointApp(run, config, watch=False, now=lambda: NOW, shown_root="sweep")
    assert snap_compare(app, terminal_size=SMALL, run_before=_open(["d"], ConfirmDeleteScreen))


def test_help_screen(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, press=["question_mark"])


def test_help_screen_80x24_scrolled_to_its_end(snap_compare, tmp_path):
    assert snap_compare(
        snapshot_app(tmp_path), terminal_size=SMALL, run_before=_open(["question_mark"], HelpScreen, then=["end"])
    )


def test_number_dialog_with_an_error_80x24(snap_compare, tmp_path):
    assert snap_compare(
        snapshot_app(tmp_path),
        terminal_size=SMALL,
        run_before=_open(["n"], NumberInputScreen, then=["ctrl+u", "x", "enter"]),
    )


def test_attribute_dialog_80x24(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SMALL, run_before=_open(["s"], ChooseAttributeScreen))


def test_columns_dialog_80x24(snap_compare, tmp_path):
    assert snap_compare(
        snapshot_app(tmp_path),
        terminal_size=SMALL,
        run_before=_open(["m"], ChooseColumnsScreen, then=["down", "space"]),
    )


def test_sort_dialog_80x24(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SMALL, run_before=_open(["S"], SortScreen))


def test_warnings_dialog_80x24(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SMALL, run_before=_open(["w"], TextListScreen))


def test_main_screen_sorted_by_size_with_a_metric_column_80x24(snap_compare, tmp_path):
    """The sorted column carries its arrow; a metric column leaves the checkpoint and its trial
    on screen."""
    app = snapshot_app(tmp_path)

    async def run_before(pilot):
        await pilot.press("S")
        await _wait_for(pilot, lambda: isinstance(app.screen, SortScreen))
        await pilot.press("z")
        await pilot.press("m")
        await _wait_for(pilot, lambda: isinstance(app.screen, ChooseColumnsScreen))
        await pilot.press("space", "enter")
        await _wait_for(pilot, lambda: not isinstance(app.screen, ChooseColumnsScreen))
        await pilot.press("l", "l", "l", "l")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
