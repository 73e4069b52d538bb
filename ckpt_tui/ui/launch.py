"""Start the interactive app: read the run (errors become one line from the CLI), open it."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Optional

from ckpt_tui.cli import EXIT_ERROR, EXIT_OK, config_from_args

READ_EVERY = 50  # trials read between two updates of the table while a run is being read


def start_reading(path: str):
    """The run's first trial(s) and the rest of the read: ``(run, reading)`` for CheckpointApp.
    A RunError (not a run, unreadable) is raised here, before any screen is drawn; the app
    reads the other trials after its first frame and sums sizes after that."""
    from ckpt_tui.core.readers import read_run_progressively

    reading = read_run_progressively(path, every=READ_EVERY)
    try:
        run = next(reading)
    except BaseException:
        reading.close()
        raise
    return run, reading


def build_app(args, path: str):
    """The app for parsed CLI ``args`` on ``path``, as ``ckpt-tui`` opens it (also what
    scripts/screenshots.py runs, so the README's pictures show what a user sees)."""
    run, reading = start_reading(path)
    config = config_from_args(args, run.run_config)

    from ckpt_tui.ui.app import CheckpointApp

    return CheckpointApp(
        run,
        config,
        grace_seconds=args.grace,
        poll_interval=args.poll,
        reading=reading,
    )


def run_app(args) -> int:
    """Run the app for parsed CLI ``args``; a RunError from reading escapes to the CLI, which
    prints it as one line before any screen is drawn."""
    demo = None
    path = args.run_dir
    if getattr(args, "demo", False):
        from ckpt_tui.demo import DemoRun

        demo = DemoRun()
        path = demo.create()
        demo.start()
    if demo is None:  # issue 13: a storage root of experiments, or a dir that holds no run yet
        from ckpt_tui.core.model import RunError
        from ckpt_tui.core.readers import detect_layout
        from ckpt_tui.core.storage_root import describe_root_error

        try:
            detect_layout(path)
        except RunError:
            if describe_root_error(path) is not None:
                raise
            from ckpt_tui.ui.root_launch import run_root_app

            return run_root_app(args, path)
    try:
        app = build_app(args, path)
        _route_sigint(app)
        app.run()
        app.stop_watching()
    finally:
        if demo is not None:
            demo.cleanup()  # a temp dir this process made: leave nothing behind
    crashed = report_exit(app)
    if crashed is not None:
        return crashed
    print(app.config.to_python())  # the current config, whether or not it was copied
    return EXIT_OK


def report_exit(app) -> Optional[int]:
    """What an app that has ended leaves on the terminal, for the main app and the storage
    root's apps alike: EXIT_ERROR after a crash (one line; the traceback is in the file it
    names), else None once its lines (a stopped deletion's result and skips) are printed."""
    if app.return_code:
        print(getattr(app, "crash_message", None) or "ckpt-tui: internal error", file=sys.stderr)
        return EXIT_ERROR
    for line in getattr(app, "exit_errors", ()):
        print(line, file=sys.stderr)
    for line in getattr(app, "exit_lines", ()):
        print(line)
    return None


def _route_sigint(app) -> None:
    """A SIGINT does what the ctrl+c key does (ask during a deletion, else quit), and after
    the app has gone only makes sure nothing more is deleted: the process may still be
    waiting for a worker to finish its checkpoint, and a second ctrl+c must not end that
    in a KeyboardInterrupt traceback (or half-way through a checkpoint)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if hasattr(app, "interrupt"):
        signal.signal(signal.SIGINT, lambda signum, frame: app.interrupt())
        return

    from ckpt_tui.ui.textual_compat import running_loop

    def quit_soon(signum, frame) -> None:  # an app with no deletion of its own to stop (the overview)
        loop = running_loop(app)
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(app.exit)

    signal.signal(signal.SIGINT, quit_soon)
