"""Every use of Textual's private internals, in one place, each behind a small named function.

Textual has no public API for these; each function says which internal it relies on, and
``broken_assumptions()`` checks them all against the installed Textual (tests/ui/test_compat.py
fails with its list, naming what an upgrade broke). Checked with textual 8.2.

* ``App._fatal_error()``: the hook Textual calls on an unhandled exception (it prints the
  traceback). CheckpointApp overrides it (by that name: ``FATAL_ERROR_HOOK``) to print one line.
* ``App._handle_exception(error)``: the hook Textual calls with every unhandled exception
  (``HANDLE_EXCEPTION_HOOK``; it defers exceptions with a rich rendering to ``panic``, which
  would bypass ``_fatal_error``). ``record_unhandled`` does its bookkeeping: ``App._return_code``
  (the exit code), ``App._exception`` and ``App._exception_event`` (Pilot re-raises it).
* ``App._exception``: the unhandled exception; ``App._exit_renderables``: what Textual prints
  after the terminal is restored; ``MessagePump._close_messages_no_wait()``: close at once.
* ``App._loop``: the asyncio loop the app runs on; None before it runs, and after ``run()``
  has left (``run_test`` leaves it set: that loop is then closed or no longer running). A
  SIGINT handler uses it to reach the app from outside.
* ``MessagePump._closing``: Textual's flag "this pump is closing" (``post_message`` then drops
  messages). The app and the overview screen also set it on unmount and read it from worker
  threads to stop work early.
* ``Footer._bindings_ready``: a reactive the footer waits for before composing its keys;
  ``KeyFooter`` replaces ``Footer.bindings_changed``, which sets it.
* ``SelectionList._selected``: the selected values as a dict (``selected`` makes a list: O(n)
  per rendered line).
* ``Screen._compositor.render_strips()``: the screen as lines of segments (tests read it).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Optional

from textual.app import App
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widgets import Footer, SelectionList

FATAL_ERROR_HOOK = "_fatal_error"
HANDLE_EXCEPTION_HOOK = "_handle_exception"


def unhandled_exception(app: App) -> Optional[BaseException]:
    """The exception that is ending the app, if any (``App._exception``)."""
    return app._exception


def record_unhandled(app: App, error: Exception, exit_code: int = 1) -> None:
    """What Textual's ``_handle_exception`` records before rendering: the exit code, and the
    first unhandled exception (``run_test`` re-raises it)."""
    app._return_code = exit_code
    if app._exception is None:
        app._exception = error
        app._exception_event.set()


def close_now(app: App) -> None:
    """Ask the app's message loop to end at once (``_close_messages_no_wait``)."""
    app._close_messages_no_wait()


def exit_printing(app: App, renderable: Any) -> None:
    """Close the app now and print ``renderable`` once the terminal is restored (what Textual's
    own ``_fatal_error`` does with the traceback)."""
    app._exit_renderables.append(renderable)
    close_now(app)


def running_loop(app: App) -> Optional[asyncio.AbstractEventLoop]:
    """The loop the app runs on; None before it starts and once ``run()`` has left (``App._loop``)."""
    return app._loop


def is_closing(pump: MessagePump) -> bool:
    """Whether the app or screen is closing (``MessagePump._closing``)."""
    return pump._closing


def mark_closing(pump: MessagePump) -> None:
    """Flag the app or screen as closing, as Textual does when it starts closing it: worker
    threads that check ``is_closing`` stop, and messages posted to it are dropped."""
    pump._closing = True


def mark_footer_bindings_ready(footer: Footer) -> None:
    """What ``Footer.bindings_changed`` does before recomposing: the footer may show its keys."""
    footer._bindings_ready = True


def is_selected(selection_list: SelectionList, value: Any) -> bool:
    """Whether ``value`` is selected, in O(1) (``SelectionList._selected``)."""
    return value in selection_list._selected


def screen_strips(screen: Screen) -> list:
    """The screen as Textual composed it: one Strip (segments) per line."""
    return screen._compositor.render_strips()


def broken_assumptions() -> list[str]:
    """Each assumption above that the installed Textual breaks, as a sentence; [] when all hold.
    Checked on classes and fresh instances, without running an app."""
    broken: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            broken.append(what)

    hook = getattr(App, FATAL_ERROR_HOOK, None)
    check(
        callable(hook) and list(inspect.signature(hook).parameters) == ["self"],
        f"App.{FATAL_ERROR_HOOK}(self) is gone or takes arguments: CheckpointApp's crash line (ui/app.py) overrides it",
    )
    check(
        FATAL_ERROR_HOOK in inspect.getsource(App._handle_exception),
        f"App._handle_exception no longer calls {FATAL_ERROR_HOOK}(): the one-line crash message would never be shown",
    )
    handle = getattr(App, HANDLE_EXCEPTION_HOOK, None)
    check(
        callable(handle) and list(inspect.signature(handle).parameters) == ["self", "error"],
        f"App.{HANDLE_EXCEPTION_HOOK}(self, error) is gone or takes other arguments: "
        "every unhandled exception would no longer end as one line",
    )
    if callable(handle):
        source = inspect.getsource(handle)
        check(
            all(name in source for name in ("_return_code", "_exception", "_exception_event")),
            f"App.{HANDLE_EXCEPTION_HOOK} no longer records _return_code / _exception / "
            "_exception_event: record_unhandled no longer does what Textual does",
        )
    app: App[None] = App()
    check(hasattr(app, "_exception"), "App._exception (the unhandled exception) is gone")
    check(
        hasattr(app, "_return_code") and app.return_code == app._return_code,
        "App._return_code (behind App.return_code) is gone",
    )
    check(
        callable(getattr(getattr(type(app), "_exception_event", None), "__get__", None))
        or hasattr(app, "_exception_event"),
        "App._exception_event is gone",
    )
    check(
        isinstance(getattr(app, "_exit_renderables", None), list),
        "App._exit_renderables (printed after exit) is gone or not a list",
    )
    check(callable(getattr(app, "_close_messages_no_wait", None)), "MessagePump._close_messages_no_wait() is gone")
    check(
        getattr(app, "_loop", 0) is None and "app._loop = None" in inspect.getsource(App.run_async),
        "App._loop (the running loop, None once the app has left) is gone or no longer reset",
    )
    check(getattr(app, "_closing", None) is False, "MessagePump._closing (a bool, False until closing) is gone")
    check(
        "self._closing" in inspect.getsource(MessagePump._close_messages)
        and "self._closing" in inspect.getsource(MessagePump.post_message),
        "MessagePump._closing no longer marks a closing pump (checked by _close_messages / post_message)",
    )
    check(
        "_bindings_ready" in vars(Footer) and "_bindings_ready" in inspect.getsource(Footer.bindings_changed),
        "Footer._bindings_ready (the reactive Footer.bindings_changed sets) is gone",
    )
    selection: SelectionList = SelectionList(("a", 1), ("b", 2, True))
    check(
        isinstance(getattr(selection, "_selected", None), dict) and list(selection._selected) == [2],
        "SelectionList._selected (a dict of the selected values) is gone or holds something else",
    )
    check(
        hasattr(Screen, "_compositor") or "_compositor" in inspect.getsource(Screen.__init__),
        "Screen._compositor (render_strips) is gone",
    )
    return broken
