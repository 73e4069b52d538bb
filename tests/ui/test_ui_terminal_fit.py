"""What a person sees at 80x24 and on big runs: one byte formatter, plurals and separators,
the confirmation dialog's short forms, help that scrolls to its end, the footer's help and quit,
the summary's scope and score order, sorting by column, and the detail pane giving way."""

from __future__ import annotations

import pytest

from ckpt_tui import prune_cli
from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.units import count, human_bytes, plural
from ckpt_tui.ui import format as ui_format
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen, fit_path, trials_line
from ckpt_tui.ui.screens.help import HelpScreen
from ckpt_tui.ui.screens.sort import SortScreen
from tests.ui.test_ui_app import K3_MIN, copy_run, make_app, wait_for

SMALL = (80, 24)


def test_one_byte_formatter_with_si_unit_names():
    assert prune_cli.human_bytes is human_bytes and ui_format.human_bytes is human_bytes
    assert not hasattr(ui_format, "_human_bytes")
    cases = {
        0: "0 B",
        999: "999 B",
        1000: "1.0 kB",
        45_100: "45.1 kB",
        133_000: "133 kB",
        999_949: "1.0 MB",
        1_234_567: "1.2 MB",
        12_500_000_000: "12.5 GB",
        None: "…",
    }
    for n, text in cases.items():
        assert human_bytes(n) == text, n
    assert human_bytes(999_400) == "999 kB"
    assert all(len(human_bytes(10**k * 9_999 // 10)) <= 7 for k in range(12))


def test_counts_and_plurals():
    assert count(96033) == "96,033"
    assert plural(1, "trial") == "1 trial" and plural(1000, "trial") == "1,000 trials"


def test_trials_line_is_short_for_many_trials():
    names = [f"{i:05d}_{i}_lr=0.32" for i in range(1000)]
    assert trials_line(names) == "1,000 trials: 00000_0_lr=0.32, 00001_1_lr=0.32, 00002_2_lr=0.32, ... and 997 more"
    assert trials_line(names, width=66).endswith("00001_1_lr=0.32, ... and 998 more")
    assert trials_line(names, width=50) == "1,000 trials: 00000_0_lr=0.32, ... and 999 more"
    assert trials_line(names[:1]) == "1 trial: 00000_0_lr=0.32"
    assert trials_line(names[:3]) == "3 trials: 00000_0_lr=0.32, 00001_1_lr=0.32, 00002_2_lr=0.32"


def test_fit_path_keeps_the_checkpoint_name():
    path = "trainable_b3c4d_00000_0_seed=1_2026-11-28_00-17-22/checkpoint_000001"
    assert fit_path(path, 200) == path
    short = fit_path(path, 50)
    assert len(short) == 50 and short.endswith("…/checkpoint_000001") and short.startswith("trainable_b3c4d_00000")


async def test_confirm_dialog_at_80x24_keeps_its_buttons_on_screen(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="dialog")
        await pilot.pause(0.2)
        screen = app.screen.region
        for selector in ("#cancel", "#delete", ".dialog-hint", "#confirm-trials"):
            widget = app.screen.query_one(selector)
            assert screen.contains_region(widget.region) and widget.region.height >= 1, selector
        listing = str(app.screen.query_one("#confirm-listing").render())
        lines = listing.splitlines()
        assert len(lines) == 13 and all(line.startswith("✗ trainable_14fd1_") for line in lines)
        assert "/checkpoint_0000" in lines[0] and not lines[0].startswith("✗ /")  # relative to the run
        await pilot.press("escape")


async def test_help_scrolls_to_its_last_line_at_80x24(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.press("end")
        await pilot.pause(0.5)
        scroll = app.screen.query_one("VerticalScroll")
        keys = app.screen.query_one("#help-keys")
        assert scroll.scroll_offset.y == scroll.max_scroll_y > 0
        last = str(keys.render()).splitlines()[-1]
        assert keys.region.bottom == scroll.region.bottom  # the last line is the last row shown
        assert last.startswith("ctrl+p") or "header" in last
        assert app.screen.region.contains_region(app.screen.query_one(".dialog-hint").region)


async def test_footer_keeps_help_and_quit_at_80_columns(tmp_path):
    from textual.widgets._footer import FooterKey

    app = make_app(copy_run("keep_all", tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause(0.3)
        shown = {
            k.key
            for k in app.screen.query(FooterKey)
            if app.screen.region.contains_region(k.region) and k.region.width > 0
        }
        assert {"question_mark", "q"} <= shown


async def test_summary_shows_scope_and_score_order_at_80_columns(tmp_path):
    config = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss")  # max: not in to_python()
    app = make_app(copy_run("keep_all", tmp_path), config)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24 and app._sizes_settled, what="rows and sizes")
        await pilot.press("right_square_bracket")
        await pilot.pause(0.2)
        lines = str(app.summary.render()).splitlines()
        assert all(len(line) <= 78 for line in lines)
        text = "\n".join(lines)
        assert 'checkpoint_score_order="max"' in text and "trial 00000_0_seed=1" in text
        assert "3 trials" in text and "…" not in text


async def test_detail_pane_gives_way_before_the_table(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path))
    async with app.run_test(size=(80, 18)) as pilot:
        await pilot.pause(0.2)
        assert app.detail.display is False or app.detail.region.height == 0
        assert app.table.region.height >= 10


async def test_sort_by_size_then_reverse_then_header_click(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path))
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24 and app._sizes_settled, what="rows and sizes")
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, SortScreen), what="sort dialog")
        await pilot.press("z")
        await pilot.pause(0.1)
        sizes = [c.size_bytes for c in app.table.rows]
        assert sizes == sorted(sizes, reverse=True) and app.sort_key == "size"
        assert any(c.title == "size ↓" for c in app.table.columns)
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, SortScreen), what="sort dialog")
        await pilot.press("z")
        await pilot.pause(0.1)
        assert [c.size_bytes for c in app.table.rows] == sorted(sizes)
        # A click on the iter header sorts by iteration, latest first.
        x = 0
        for col in app.table.columns:
            if col.key == "iter":
                break
            x += col.width + 1
        await pilot.click(app.table, offset=(x + 1, 0))
        await pilot.pause(0.1)
        iters = [c.iteration for c in app.table.rows]
        assert app.sort_key == "iteration" and iters == sorted(iters, reverse=True)
        # The cursor's checkpoint is the same one after a re-sort.
        app.table.move_cursor(5)
        current = app.table.current
        await pilot.click(app.table, offset=(x + 1, 0))
        await pilot.pause(0.1)
        assert app.table.current is current and app.sort_reverse


async def test_metric_columns_leave_the_checkpoint_and_trial_on_screen(tmp_path):
    app = make_app(copy_run("keep_all", tmp_path), K3_MIN)
    app.metric_columns = ["loss", "acc", "nested/val", "timestamp"]
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="rows")
        for _ in range(10):
            await pilot.press("l")
        await pilot.pause(0.1)
        assert app.table.scroll_offset.x > 0
        line = "".join(seg.text for seg in app.table.render_line(1))
        assert line.startswith("✓ keep") and "checkpoint_00000" in line and "00000_0_seed=1" in line


async def test_sizes_being_summed_show_so_far(tmp_path):
    from ckpt_tui.core.readers import read_run
    from ckpt_tui.ui.app import CheckpointApp

    run = read_run(str(copy_run("keep_all", tmp_path)), sizes=False)
    app = CheckpointApp(run, K3_MIN, watch=False)
    async with app.run_test(size=SMALL) as pilot:
        app.activity = "sizing 200/2,400"
        app._update_summary()
        text = str(app.summary.render())
        assert "so far" in text and "sizing 200/2,400" in text
        await wait_for(pilot, lambda: app._sizes_settled, what="sizes")


@pytest.mark.parametrize("reverse", [False, True])
def test_sort_ties_keep_rays_order_both_ways(tmp_path, reverse):
    from ckpt_tui.core.readers import read_run
    from ckpt_tui.core.retention import plan
    from ckpt_tui.ui.sorting import sort_rows

    p = plan(read_run(str(copy_run("keep_all", tmp_path)), sizes=True), K3_MIN)
    rows = sort_rows(p.ordered(), p, "trial", reverse)
    trials = [c.trial_id for c in rows]
    assert trials == sorted(trials, reverse=reverse)
    for tid in set(trials):
        assert [c for c in rows if c.trial_id == tid] == list(p.order[tid])  # best first within a trial
