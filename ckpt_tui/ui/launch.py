"""Start the interactive app: read the run (errors become one line from the CLI), open it."""

from __future__ import annotations

from ckpt_tui.cli import EXIT_OK, config_from_args


def run_app(args) -> int:
    """Run the app for parsed CLI ``args``; a RunError from reading escapes to the CLI, which
    prints it as one line before any screen is drawn."""
    from ckpt_tui.core.readers import read_run

    demo = None
    path = args.run_dir
    if getattr(args, "demo", False):
        from ckpt_tui.demo import DemoRun

        demo = DemoRun()
        path = demo.create()
        demo.start()
    try:
        # Sizes are summed afterwards in a worker, so the first rows show at once.
        run = read_run(path, sizes=False)
        config = config_from_args(args, run.run_config)

        from ckpt_tui.ui.app import CheckpointApp

        app = CheckpointApp(
            run,
            config,
            grace_seconds=args.grace,
            poll_interval=args.poll,
        )
        app.run()
        app.stop_watching()
    finally:
        if demo is not None:
            demo.cleanup()  # a temp dir this process made: leave nothing behind
    if app.copied_line:
        print(app.copied_line)
    return EXIT_OK
