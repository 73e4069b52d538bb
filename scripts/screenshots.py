"""Regenerate the SVG screenshots in screenshots/ (shown in README.md).

    .venv/bin/python scripts/screenshots.py

Uses a copy of tests/ray_runs/keep_all with fixed mtimes and a fixed clock, so the pictures only
change when the app does.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ckpt_tui.core.config import CheckpointConfig  # noqa: E402
from ckpt_tui.core.readers import read_run  # noqa: E402
from ckpt_tui.ui.app import CheckpointApp  # noqa: E402
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen  # noqa: E402

OUT = REPO / "screenshots"
WRITTEN = 1_795_825_000.0
NOW = WRITTEN + 5 * 3600.0
K3_MIN = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")


def make_app(tmp: Path) -> CheckpointApp:
    root = tmp / "keep_all"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(REPO / "tests" / "ray_runs" / "keep_all", root)
    for ckpt in root.glob("*/checkpoint_*"):
        for f in ckpt.rglob("*"):
            os.utime(f, (WRITTEN, WRITTEN))  # a checkpoint's age is its newest file's
        os.utime(ckpt, (WRITTEN, WRITTEN))
    run = read_run(str(root), sizes=True)
    return CheckpointApp(run, K3_MIN, watch=False, now=lambda: NOW, shown_root="keep_all")


async def shoot(tmp: Path, name: str, size: tuple[int, int], keys: list[str], wait_for=None) -> None:
    app = make_app(tmp)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        if wait_for is not None:
            deadline = time.monotonic() + 20
            while not wait_for(app):
                if time.monotonic() > deadline:
                    raise SystemExit(f"screenshots/{name}.svg: the screen never got there")
                await pilot.pause(0.05)
        await pilot.pause()
        app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    print(f"wrote screenshots/{name}.svg")


async def shoot_big_run(tmp: Path) -> None:
    """A sweep as the benchmarks write it (60 trials x 100 checkpoints; the reference run is
    1,000 x 100), keep 3 by acc under max: Tune replays trials whose acc is missing here and
    there report by report."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import generate

    root = Path(generate.generate(60, 100, str(tmp / "sweep"), quiet=True))
    for ckpt in root.glob("*/checkpoint_*"):
        for f in ckpt.rglob("*"):
            os.utime(f, (WRITTEN, WRITTEN))
        os.utime(ckpt, (WRITTEN, WRITTEN))
    run = read_run(str(root), sizes=True)
    config = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="acc", checkpoint_score_order="max")
    app = CheckpointApp(run, config, watch=False, now=lambda: NOW, shown_root="sweep")
    async with app.run_test(size=(120, 35)) as pilot:
        deadline = time.monotonic() + 20
        while app.totals_plan is not app.plan:
            if time.monotonic() > deadline:
                raise SystemExit("screenshots/big-run.svg: the plan's totals never came")
            await pilot.pause(0.05)
        await pilot.pause()
        app.save_screenshot(filename="big-run.svg", path=str(OUT))
    print("wrote screenshots/big-run.svg")


async def shoot_overview(tmp: Path) -> None:
    """The overview of a storage root (issue 13): the real runs arranged as users have them,
    with num_to_keep=2 set at the root; one experiment written to a minute ago."""
    from ckpt_tui.core.storage_root import find_experiments
    from ckpt_tui.ui.root_app import RootApp, RootState
    from tests.root_fixtures import make_root

    root = make_root(tmp / "overview")
    for path in root.rglob("*"):
        os.utime(path, (WRITTEN, WRITTEN))
    for path in (root / "s8_shared" / "exp_b").rglob("*"):
        os.utime(path, (NOW - 60, NOW - 60))
    state = RootState(str(root), find_experiments(str(root)), {"num_to_keep": 2})
    state.shown_root = "~/ray_results"
    app = RootApp(state, now=lambda: NOW)
    async with app.run_test(size=(130, 16)) as pilot:
        o = app.overview
        deadline = time.monotonic() + 20
        while len(state.entries) < len(state.found) or o._stale or o._planning:
            if time.monotonic() > deadline:
                raise SystemExit("screenshots/overview.svg: the overview never settled")
            await pilot.pause(0.05)
        await pilot.press("j")
        await pilot.pause()
        app.save_screenshot(filename="overview.svg", path=str(OUT))
    print("wrote screenshots/overview.svg")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        await shoot(t, "main", (120, 35), ["j", "j", "j"])
        await shoot(t, "main-80x24", (80, 24), [])
        await shoot(t, "one-trial", (120, 35), ["right_square_bracket", "m", "space", "down", "space", "enter"])
        await shoot(t, "confirm-delete", (120, 35), ["d"], lambda app: isinstance(app.screen, ConfirmDeleteScreen))
        await shoot(t, "help", (120, 35), ["question_mark"])
        await shoot_big_run(t)
        await shoot_overview(t)


if __name__ == "__main__":
    asyncio.run(main())
