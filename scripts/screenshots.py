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
            while not wait_for(app) and time.monotonic() < deadline:
                await pilot.pause(0.05)
        await pilot.pause()
        app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    print(f"wrote screenshots/{name}.svg")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        await shoot(t, "main", (120, 35), ["j", "j", "j"])
        await shoot(t, "main-80x24", (80, 24), [])
        await shoot(t, "one-trial", (120, 35), ["right_square_bracket", "m", "space", "down", "space", "enter"])
        await shoot(t, "confirm-delete", (120, 35), ["d"], lambda app: isinstance(app.screen, ConfirmDeleteScreen))
        await shoot(t, "help", (120, 35), ["question_mark"])


if __name__ == "__main__":
    asyncio.run(main())
