"""The private internals of Textual and watchdog that ckpt-tui relies on are still there.

Each library's uses are collected in one module (ckpt_tui/ui/textual_compat.py,
ckpt_tui/watch/watchdog_compat.py) that lists its assumptions and checks them. An upgrade that
breaks one fails here with a sentence naming the assumption and what depends on it, rather
than as a puzzling failure somewhere in the UI or the watcher."""

from __future__ import annotations

import sys

import pytest
import textual
from textual.app import App
from textual.message import Message
from textual.widgets import SelectionList
from watchdog.observers.polling import PollingObserver

from ckpt_tui.ui import textual_compat
from ckpt_tui.watch import watchdog_compat


def test_textual_internals_we_rely_on_are_there():
    broken = textual_compat.broken_assumptions()
    assert not broken, (
        f"textual {textual.__version__} breaks what ckpt_tui/ui/textual_compat.py assumes:\n  " + "\n  ".join(broken)
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux only")
def test_watchdog_internals_we_rely_on_are_there():
    broken = watchdog_compat.broken_assumptions()
    assert not broken, (
        "the installed watchdog breaks what ckpt_tui/watch/watchdog_compat.py assumes:\n  " + "\n  ".join(broken)
    )


def test_closing_flag_is_textuals_own():
    """mark_closing does what Textual's closing does: is_closing says so, posts are dropped."""
    app = App()
    assert not textual_compat.is_closing(app)
    textual_compat.mark_closing(app)
    assert textual_compat.is_closing(app)
    assert app.post_message(Message()) is False


def test_is_selected_follows_the_public_selection():
    selection: SelectionList = SelectionList(("a", 1), ("b", 2, True), ("c", 3))
    assert [v for v in (1, 2, 3) if textual_compat.is_selected(selection, v)] == selection.selected == [2]
    selection.select(3)
    selection.deselect(2)
    assert [v for v in (1, 2, 3) if textual_compat.is_selected(selection, v)] == selection.selected == [3]


async def test_unhandled_exception_and_exit_printing_on_a_running_app():
    """The crash hook's pieces on a real app: the exception Textual holds, and a line printed
    after exit instead of the traceback (the whole path: tests/ui/test_ui_crash.py)."""
    seen = {}

    class Crashing(App):
        def _fatal_error(self) -> None:  # the hook CheckpointApp overrides
            seen["error"] = textual_compat.unhandled_exception(self)
            textual_compat.exit_printing(self, "one line")
            seen["exit"] = list(self._exit_renderables)

        def on_mount(self) -> None:
            raise ValueError("boom")

    assert textual_compat.FATAL_ERROR_HOOK in vars(Crashing)
    with pytest.raises(ValueError):
        async with Crashing().run_test():
            pass
    assert isinstance(seen["error"], ValueError) and seen["exit"] == ["one line"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux only")
def test_inotify_reader_alive_tells_a_dead_reader(tmp_path):
    from watchdog.observers import Observer

    observer = Observer()
    assert watchdog_compat.shares_one_inotify()
    observer.start()
    try:
        assert watchdog_compat.inotify_reader_alive(observer)
    finally:
        observer.stop()
        observer.join(5)
    assert not watchdog_compat.inotify_reader_alive(observer)
    assert watchdog_compat.inotify_reader_alive(PollingObserver())  # no inotify reader: nothing to tell


async def test_record_unhandled_does_textuals_bookkeeping():
    """The exception is the one Pilot re-raises, and the exit code is set (what main's
    CheckpointApp._handle_exception relies on to exit with 1)."""
    app = App()
    error = ValueError("recorded")
    with pytest.raises(ValueError, match="recorded"):
        async with app.run_test():
            textual_compat.record_unhandled(app, error, 1)
            textual_compat.close_now(app)
    assert app.return_code == 1 and textual_compat.unhandled_exception(app) is error


async def test_running_loop_is_the_apps_while_it_runs_and_none_after():
    import asyncio

    app = App()
    assert textual_compat.running_loop(app) is None
    async with app.run_test():
        assert textual_compat.running_loop(app) is asyncio.get_running_loop()
    await asyncio.sleep(0)
    left = textual_compat.running_loop(app)
    assert left is None or left is asyncio.get_running_loop()  # run_test leaves it; run() clears it
