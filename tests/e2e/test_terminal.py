"""End to end: the INSTALLED ``ckpt-tui`` in a real terminal (tmux) at 80x24 and 160x45, on
copies of real Ray runs and on --demo. Every key of the help table and every palette command is
used, a deletion is run, and quitting is tried idle and mid-deletion, with q and with ctrl+c.
The assertions are on what the screen shows and on the exit status."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ckpt_tui.ui.commands import palette_label
from ckpt_tui.ui.keys import ACTIONS, TABLE_KEYS
from tests.conftest import copy_ray_run
from tests.e2e.terminal import CKPT_TUI, TMUX, Terminal

if TMUX is None:
    pytest.skip(
        "tmux is not installed: the end-to-end terminal tests need it (apt-get install tmux)", allow_module_level=True
    )
if not CKPT_TUI.exists():
    pytest.skip(
        f"the ckpt-tui console script is not installed next to {sys.executable} (pip install -e . first)",
        allow_module_level=True,
    )

REPO = Path(__file__).resolve().parents[2]
SIZES = [(80, 24), (160, 45)]
K3 = ["--num-to-keep", "3", "--score-attribute", "loss", "--score-order", "min"]
READY = "checkpoint_0000"  # a table row is drawn


@pytest.fixture
def terminal(tmp_path):
    """Start the app in tmux; every terminal started is killed at teardown."""
    started: list[Terminal] = []

    def start(args: list[str], size=(80, 24)) -> Terminal:
        term = Terminal(args, size=size, cwd=tmp_path, env={"TMPDIR": str(tmp_path)})
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()


def copy_run(name: str, tmp_path: Path) -> Path:
    return copy_ray_run(name, tmp_path)


# A row of the checkpoint table: mark (8 wide), the "!" column, the name. (The detail pane's
# first line, "✓ keep  checkpoint_...", has no "!" column.)
ROW = re.compile(r"[✓✗?] (?:keep  |delete|pinned) [! ] checkpoint_\d+")


def table_rows(screen: str, width: int) -> list[str]:
    """The table's rows on the screen, the left half of the screen only: toasts (at most half
    the width, on the right) may cover the rest."""
    out = []
    for line in screen.splitlines():
        m = ROW.search(line)
        if m and m.start() < width // 2:
            out.append(line[m.start() : width // 2])
    return out


def first_row(screen: str, width: int) -> str:
    """Which checkpoint the first row is: its name and its trial's number (the trial column's
    width follows the widest trial name, which changes as the demo adds trials)."""
    rows = table_rows(screen, width)
    if not rows:
        return ""
    m = re.search(r"(checkpoint_\d+)(?: +(\d{5}_\d+))?", rows[0])
    return " ".join(g for g in m.groups() if g) if m else rows[0]


def every_trial_shown(screen: str) -> bool:
    """The table has its trial column: it shows every trial (one trial's view drops it)."""
    return any("keep?" in line and re.search(r"\bcheckpoint +trial\b", line) for line in screen.splitlines())


def dialog_open(screen: str) -> bool:
    """A dialog's thick border is on the screen."""
    return "█▀▀▀" in screen or "▄▄▄█" in screen


def close_dialog(term: Terminal) -> None:
    """Escape, then wait until no dialog is drawn (before the next key: an escape followed at
    once by a key reads as alt+key)."""
    term.press("Escape")
    term.wait_for(lambda s: not dialog_open(s), describe="the dialog to close")
    settled(term, dialog_open)


def settled(term: Terminal, view, timeout: float = 10.0):
    """``view(screen)`` once it has stopped changing (the same for 0.15 s)."""
    deadline = time.monotonic() + timeout
    last, since = view(term.screen()), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = view(term.screen())
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 0.15:
            return now
    raise AssertionError(f"the screen kept changing: {last!r}")


def detail_head(screen: str, width: int) -> list[str]:
    """The detail pane's first two lines (under the table's bottom edge), left half."""
    lines = screen.splitlines()
    edge = max((i for i, line in enumerate(lines) if "▔▔▔▔▔▔▔▔" in line), default=None)
    if edge is None:
        return []
    return [line[: width // 2] for line in lines[edge + 1 : edge + 3]]


# ---- every key of the help table --------------------------------------------------------------


def walk_keys(term: Terminal) -> set[str]:
    """Press every key of the help table, checking what each does on the screen; the keys used."""
    used: set[str] = set()
    w = term.wait_for
    width = term.size[0]

    def press(action: str, *keys: str) -> None:
        used.add(action)
        term.press(*keys)

    press("keep_more", "+")
    w("num_to_keep=4")
    press("keep_fewer", "-")
    w("num_to_keep=3")
    screen = term.screen()
    press("toggle_order", "o")
    w(
        lambda s: first_row(s, width) != first_row(screen, width),
        describe="the best checkpoint to change with the order",
    )
    term.press("o")
    w(lambda s: first_row(s, width) == first_row(screen, width), describe="the order back")
    press("toggle_pin", "p")
    w("pinned checkpoint_")
    term.press("p")
    w("unpinned checkpoint_")
    press("delete", "d")
    w("Delete checkpoints")
    close_dialog(term)
    w("deletion cancelled")
    press("type_num_to_keep", "n")
    w("enter sets")
    term.type("2")
    term.press("Enter")
    w("num_to_keep=2")
    press("keep_all", "a")
    w("✗ 0 to delete")
    press("reset_config", "r")
    w("reset to the run's own")
    press("choose_attribute", "s")
    w("Score attribute")
    close_dialog(term)
    press("copy_config", "c")
    w("copied")
    press("toggle_untracked", "u")
    w("deleting checkpoints")
    term.press("u")
    w("keeping checkpoints")
    press("choose_columns", "m")
    w("Metric columns")
    close_dialog(term)
    press("choose_sort", "S")
    w("Sort the table by")
    close_dialog(term)
    press("filter", "/")
    w("filter by trial or path")
    term.type("000005")
    w(lambda s: "checkpoint_000004" not in s and "checkpoint_000005" in s, describe="the filter to apply")
    term.press("Enter")
    press("clear_filter", "Escape")
    w("checkpoint_000004", describe="escape to clear the filter")
    showing = "status" in term.screen()
    press("toggle_trials", "t")
    w(lambda s: ("status" in s) != showing, describe="the trial pane to toggle")
    term.press("t")
    w(lambda s: ("status" in s) == showing, describe="the trial pane back")
    w(every_trial_shown, describe="the trial column")
    press("next_trial", "]")
    w(lambda s: not every_trial_shown(s), describe="one trial's rows")
    term.press("]")
    press("previous_trial", "[")
    w(lambda s: not every_trial_shown(s), describe="one trial's rows")
    press("all_trials", "A")
    w(every_trial_shown, describe="every trial's rows again")
    press("show_warnings", "w")
    w("Warnings")
    close_dialog(term)
    press("show_log", "L")
    w("Log: this session")
    close_dialog(term)
    press("refresh_now", "R")
    w("looking for changes now")
    press("help", "?")
    w("replays Ray's checkpoint retention")
    term.press("End")
    close_dialog(term)
    # The table's own keys (TABLE_KEYS): moving around must keep the app whole.
    term.press("g")
    top = settled(term, lambda s: detail_head(s, width))
    term.press("G")
    w(lambda s: detail_head(s, width) != top, describe="G to the last row")
    term.press("g")
    w(lambda s: detail_head(s, width) == top, describe="g to the first row")
    for key in [
        "j",
        "k",
        "Down",
        "Up",
        "Space",
        "PageDown",
        "PageUp",
        "End",
        "Home",
        "l",
        "h",
        "Right",
        "Left",
        "Tab",
        "Tab",
    ]:
        term.press(key)
    w(lambda s: detail_head(s, width) == top, describe="Home to the first row")
    open_palette(term)
    term.press("Escape")
    w(lambda s: "Search for commands" not in s, describe="the palette to close")
    time.sleep(0.2)  # an escape followed at once by q reads as alt+q
    press("quit", "q")
    return used


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("run", ["keep_all", "demo"])
def test_every_key_of_the_help_table(terminal, tmp_path, run, size):
    args = ["--demo", *K3] if run == "demo" else [str(copy_run(run, tmp_path)), *K3]
    term = terminal(args, size)
    term.wait_for(READY)
    used = walk_keys(term)
    status, screen = term.exit_status()
    assert status == 0
    assert used == {a.action for a in ACTIONS}  # the walk covers the whole help table
    assert {k for k, _ in TABLE_KEYS}  # (and the table keys, pressed above)
    # On quit: the current config (not a copied one, which was the run's own).
    printed = screen[: screen.index("EXIT=")].strip().splitlines()[-1]
    assert printed.startswith("CheckpointConfig(") and "num_to_keep" not in printed


# ---- every palette command ----------------------------------------------------------------

PALETTE_EXPECT = {
    "keep_more": "num_to_keep=4",
    "keep_fewer": "num_to_keep=3",
    "type_num_to_keep": "enter sets",
    "keep_all": "✗ 0 to delete",
    "choose_attribute": "Score attribute",
    "reset_config": "reset to the run's own",
    "copy_config": "copied",
    "toggle_pin": "pinned checkpoint_",
    "delete": "nothing in this view is marked",  # after r: the run's own config keeps all
    "choose_columns": "Metric columns",
    "toggle_untracked": "checkpoints Ray does not",
    "choose_sort": "Sort the table by",
    "filter": "filter by trial or path",
    "show_warnings": "escape closes",
    "show_log": "Log: this session",
    "refresh_now": "looking for changes now",
    "help": "replays Ray's checkpoint retention",
}
CLOSES_WITH_ESCAPE = {
    "type_num_to_keep",
    "choose_attribute",
    "choose_columns",
    "choose_sort",
    "filter",
    "show_warnings",
    "show_log",
    "help",
}


def open_palette(term: Terminal) -> None:
    """ctrl+p, until the palette shows. A ctrl+p that lands while the palette that just ran a
    command is still leaving the screen stack is not seen: it is sent again (the palette's
    opening itself is what the test checks, and a palette that never opens still fails)."""
    for _ in range(2):
        term.press("C-p")
        try:
            term.wait_for("Search for commands", timeout=2)
            return
        except AssertionError:
            continue
    term.press("C-p")
    term.wait_for("Search for commands")


def first_hit(screen: str) -> str:
    """The palette's first hit: the first line of text under its search line."""
    lines = screen.splitlines()
    at = next((i for i, line in enumerate(lines) if "🔎" in line), None)
    if at is None:
        return ""
    return next((line.strip() for line in lines[at + 1 :] if line.strip()), "")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_palette_command(terminal, tmp_path, size):
    term = terminal([str(copy_run("keep_all", tmp_path)), *K3], size)
    term.wait_for(READY)
    for a in ACTIONS:
        open_palette(term)
        label = palette_label(a.title, a.shown)
        term.type(label)
        # The palette ranks its hits in a worker: enter once the best is this command.
        term.wait_for(lambda s: first_hit(s).startswith(label), describe=f"{label!r} first in the palette")
        term.press("Enter")
        if a.action == "quit":
            break
        term.wait_for(lambda s: "Search for commands" not in s, describe=f"{label!r} to run")
        expected = PALETTE_EXPECT.get(a.action)
        if expected:
            term.wait_for(expected, describe=f"{label!r}: {expected!r}")
        if a.action == "filter":
            term.press("Escape")
            term.wait_for(lambda s: "filter by trial or path" not in s, describe="the filter to close")
            time.sleep(0.2)  # an escape followed at once by a key reads as alt+key
        elif a.action in CLOSES_WITH_ESCAPE:
            close_dialog(term)
    status, _screen = term.exit_status()
    assert status == 0


# ---- ctrl+c ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_ctrl_c_quits_an_idle_app(terminal, tmp_path, size):
    term = terminal([str(copy_run("keep_all", tmp_path)), *K3], size)
    term.wait_for(READY)
    term.press("C-c")
    status, screen = term.exit_status()
    assert status == 0
    assert "CheckpointConfig(num_to_keep=3" in screen


def test_escape_and_q_at_once_from_the_palette_quits(terminal, tmp_path):
    """Escape then q sent together (a script, a paste, a slow link) reaches the app as alt+q: it
    closes the palette and quits, instead of typing a q into the palette's search."""
    term = terminal(["--demo", *K3], (80, 24))
    term.wait_for(READY)
    term.press("C-p")
    term.wait_for("Search for commands")
    term.press("Escape", "q")  # one send-keys: the two keys arrive together
    status, screen = term.exit_status()
    assert status == 0
    assert "CheckpointConfig(num_to_keep=3" in screen


# ---- deleting, and quitting mid-deletion ----------------------------------------------------------


def test_delete_on_a_real_run_then_read_the_log(terminal, tmp_path):
    root = copy_run("keep_all", tmp_path)
    before = len(list(root.glob("*/checkpoint_*")))
    term = terminal([str(root), *K3], (80, 24))
    term.wait_for("✗ 13 to delete")  # the run is read: deleting is allowed
    term.press("d")
    term.wait_for("Delete checkpoints")
    term.press("y")
    term.wait_for("deleted 13 of 13 checkpoints")
    term.press("L")
    term.wait_for("Log: this session")
    term.wait_for("deleted 13 of 13 checkpoints")
    close_dialog(term)
    term.press("q")
    status, _ = term.exit_status()
    assert status == 0
    assert len(list(root.glob("*/checkpoint_*"))) == before - 13


BIG = (60, 100)  # trials x checkpoints: 5,940 to delete, a few seconds of deleting


def big_run(tmp_path: Path) -> Path:
    out = tmp_path / "big"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "generate.py"),
            "--trials",
            str(BIG[0]),
            "--checkpoints",
            str(BIG[1]),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def checkpoints_on_disk(root: Path) -> int:
    return sum(1 for _ in root.glob("*/checkpoint_*"))


def start_big_deletion(terminal, tmp_path) -> tuple[Terminal, Path, int]:
    root = big_run(tmp_path)
    total = checkpoints_on_disk(root)
    # --grace 0: the generated checkpoints are brand new, and some trials RUNNING.
    term = terminal([str(root), "--num-to-keep", "1", "--grace", "0"], (80, 24))
    term.wait_for(lambda s: re.search(r"✗ 5,?940 to delete", s) is not None, timeout=60, describe="the whole run read")
    term.press("d")
    term.wait_for("Delete checkpoints", timeout=60)
    term.press("y")
    term.wait_for(lambda s: re.search(r"deleting [1-9]", s) is not None, timeout=60, describe="deleting")
    return term, root, total


def stopped_line(screen: str) -> re.Match:
    match = re.search(r"deleted ([\d,]+) of ([\d,]+) checkpoints \(.*?\); stopped at your request", screen)
    assert match, f"no 'stopped at your request' line:\n{screen}"
    return match


def test_q_mid_deletion_asks_n_keeps_deleting_y_stops(terminal, tmp_path):
    term, root, total = start_big_deletion(terminal, tmp_path)
    term.press("q")
    term.wait_for("Stop deleting and quit?")
    term.press("n")
    term.wait_for(lambda s: "Stop deleting and quit?" not in s, describe="the question to go")
    term.wait_for("deleting")  # still going
    term.press("q")
    term.wait_for("Stop deleting and quit?")
    term.press("y")
    status, screen = term.exit_status(timeout=60)
    assert status == 0
    match = stopped_line(screen)
    deleted, planned = (int(g.replace(",", "")) for g in match.groups())
    assert planned == BIG[0] * (BIG[1] - 1)
    assert 0 < deleted < planned
    left = checkpoints_on_disk(root)
    assert left == total - deleted
    time.sleep(1.0)
    assert checkpoints_on_disk(root) == left  # nothing is deleted after the process has exited
    assert "CheckpointConfig(num_to_keep=1" in screen  # and the config line follows


def test_ctrl_c_twice_mid_deletion_stops_without_a_traceback(terminal, tmp_path):
    term, root, total = start_big_deletion(terminal, tmp_path)
    term.press("C-c")
    term.wait_for("Stop deleting and quit?")
    term.press("C-c")  # a second ctrl+c: yes
    term.press("C-c")  # and a third, while it stops
    status, screen = term.exit_status(timeout=60)
    assert status == 0
    deleted = int(stopped_line(screen).group(1).replace(",", ""))
    left = checkpoints_on_disk(root)
    assert left == total - deleted
    assert "Traceback" not in screen and "KeyboardInterrupt" not in screen and "interrupted" not in screen
    time.sleep(1.0)
    assert checkpoints_on_disk(root) == left  # nothing is deleted after the process has exited
