"""Regenerate the SVG screenshots in screenshots/ (shown in README.md).

    .venv/bin/python scripts/screenshots.py

Each picture is the app as a user runs it: ``ckpt-tui RUN_DIR`` parsed by the CLI's own parser
and opened by the same code as the ``ckpt-tui`` command (``ckpt_tui.ui.launch.build_app``), so
the run's own ``CheckpointConfig`` is the starting config, the run is read progressively and
watched live, and paths read as the app shows them. The settings are then changed with the keys
a user presses. The runs are copies of tests/ray_runs/keep_all (the run Ray wrote) and a sweep
from benchmarks/generate.py, under /tmp/ray_results/ so the paths on screen stay the same from
one regeneration to the next; their checkpoints are dated five hours back.
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

from ckpt_tui.cli import build_parser  # noqa: E402
from ckpt_tui.ui.launch import build_app  # noqa: E402
from ckpt_tui.ui.screens.choose_attribute import ChooseAttributeScreen  # noqa: E402
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen  # noqa: E402
from ckpt_tui.ui.screens.help import HelpScreen  # noqa: E402
from ckpt_tui.ui.screens.number_input import NumberInputScreen  # noqa: E402

OUT = REPO / "screenshots"
RESULTS = Path("/tmp/ray_results")  # where the pictured runs live (shown in the pictures)
AGE = 5 * 3600.0

# What a user presses to go from the run's own config (keep everything) to keep 3 by loss, min.
KEEP_3_BY_LOSS_MIN = [
    ("n", NumberInputScreen),
    "ctrl+u",
    "3",
    "enter",
    ("s", ChooseAttributeScreen),
    "down",
    "enter",  # the first metric after "(none)": loss
    "o",
]


def _date_back(root: Path) -> None:
    then = time.time() - AGE
    for ckpt in root.glob("*/checkpoint_*"):
        for f in ckpt.rglob("*"):
            os.utime(f, (then, then))
        os.utime(ckpt, (then, then))


def keep_all_copy() -> Path:
    root = RESULTS / "keep_all"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(REPO / "tests" / "ray_runs" / "keep_all", root)
    _date_back(root)
    return root


def sweep() -> Path:
    """60 trials x 100 checkpoints as the benchmarks write them (the reference run is 1,000 x 100)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import generate

    root = Path(generate.generate(60, 100, str(RESULTS / "sweep"), force=True, quiet=True))
    _date_back(root)
    return root


async def _until(pilot, what: str, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: the screen never got to {what}")
        await pilot.pause(0.05)


async def shoot(name: str, root: Path, size: tuple[int, int], keys: list, argv: tuple = (), wait_for=None) -> None:
    app = build_app(build_parser().parse_args([str(root), *argv]), str(root))
    async with app.run_test(size=size) as pilot:
        await _until(
            pilot,
            "the whole run, sized and watched",
            lambda: not app.reading and app._sizes_settled and app.watch_text.startswith("live"),
        )
        for key in keys:
            if isinstance(key, tuple):
                key, screen = key
                await pilot.press(key)
                await _until(pilot, f"{screen.__name__}", lambda: isinstance(app.screen, screen))
            else:
                await pilot.press(key)
                await pilot.pause(0.05)
        await _until(pilot, "the plan's totals", lambda: app.totals_plan is app.plan)
        if wait_for is not None:
            await _until(pilot, name, lambda: wait_for(app))
        await pilot.pause(0.5)
        app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
        app.stop_watching()
    print(f"wrote screenshots/{name}.svg")


async def shoot_overview(tmp: Path) -> None:
    """The overview of a storage root (issue 13): the real runs arranged as users have them,
    with num_to_keep=2 set at the root; one experiment written to a minute ago."""
    from ckpt_tui.core.storage_root import find_experiments
    from ckpt_tui.ui.root_app import RootApp, RootState
    from tests.root_fixtures import make_root

    root = make_root(tmp / "overview")
    NOW = time.time()
    WRITTEN = NOW - AGE
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
    RESULTS.mkdir(parents=True, exist_ok=True)
    run = keep_all_copy()
    await shoot("main", run, (120, 35), [*KEEP_3_BY_LOSS_MIN, "j", "j", "j"])
    await shoot("main-80x24", run, (80, 24), KEEP_3_BY_LOSS_MIN)
    await shoot(
        "one-trial",
        run,
        (120, 35),
        [*KEEP_3_BY_LOSS_MIN, "right_square_bracket", "m", "space", "down", "space", "enter"],
    )
    await shoot(
        "confirm-delete",
        run,
        (120, 35),
        [*KEEP_3_BY_LOSS_MIN, "d"],
        wait_for=lambda app: isinstance(app.screen, ConfirmDeleteScreen),
    )
    await shoot("help", run, (120, 35), [("question_mark", HelpScreen)])
    big = sweep()
    await shoot("big-run", big, (120, 35), [], argv=("--num-to-keep", "3", "--score-attribute", "acc"))
    await shoot(
        "confirm-delete-80x24-big",
        big,
        (80, 24),
        ["d"],
        argv=("--num-to-keep", "3", "--score-attribute", "acc"),
        wait_for=lambda app: isinstance(app.screen, ConfirmDeleteScreen),
    )
    with tempfile.TemporaryDirectory() as tmp:
        await shoot_overview(Path(tmp))
    for name in ("keep_all", "sweep"):  # leave nothing behind
        shutil.rmtree(RESULTS / name, ignore_errors=True)
    try:
        RESULTS.rmdir()  # only if nothing else is in it
    except OSError:
        pass


if __name__ == "__main__":
    asyncio.run(main())
