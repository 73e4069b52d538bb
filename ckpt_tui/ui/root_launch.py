"""Run the app on a storage root or on a directory that holds no run yet: the overview, the
experiments opened from it, and back, until the user quits."""

from __future__ import annotations

from ckpt_tui.cli import EXIT_OK, config_from_args
from ckpt_tui.core.config import parse_num_to_keep
from ckpt_tui.core.storage import is_url, storage_for
from ckpt_tui.core.storage_root import config_for, find_experiments

DEFAULT_POLL = 1.0


def changes_from_args(args) -> dict:
    """The retention flags as root-wide changes: each applies to every experiment."""
    changes: dict = {}
    if getattr(args, "num_to_keep", None) is not None:
        changes["num_to_keep"] = parse_num_to_keep(args.num_to_keep)
    if getattr(args, "score_attribute", None) is not None:
        attr = args.score_attribute.strip()
        changes["checkpoint_score_attribute"] = None if attr.lower() in ("", "none") else attr
    if getattr(args, "score_order", None) is not None:
        changes["checkpoint_score_order"] = args.score_order
    return changes


def run_root_app(args, path: str) -> int:
    from ckpt_tui.ui.root_app import BACK, ExperimentApp, RootApp, RootState
    from ckpt_tui.watch.root_poller import RootPoller

    root = storage_for(path).realpath(path)  # a directory, or an object store URL
    found = find_experiments(root)
    interval = getattr(args, "poll", None) or DEFAULT_POLL
    if is_url(root):  # an object store: every round is requests (watch/root_poller.py)
        from ckpt_tui.watch.root_poller import OBJECT_STORE_INTERVAL

        interval = max(interval, OBJECT_STORE_INTERVAL)
    state = RootState(root, found, changes_from_args(args), watch_text=f"live (polling every {interval:g}s)")
    poller = RootPoller(root, state.on_change, interval=interval, known=found, watch_root_itself=not found)
    poller.baseline()
    poller.start()
    from ckpt_tui.ui.launch import _route_sigint, report_exit

    last_config = None  # the config of the last experiment opened: printed on quit, as for one run
    try:
        while True:
            app = RootApp(state, grace_seconds=args.grace)
            _route_sigint(app)
            app.run()
            crashed = report_exit(app)
            if crashed is not None:
                return crashed
            result = app.return_value
            if not result:
                break
            kind, what = result
            if kind == "self":  # the directory given became a run: open it as a run
                poller.stop()
                from ckpt_tui.ui.app import CheckpointApp
                from ckpt_tui.ui.launch import start_reading

                run, reading = start_reading(root)
                main = CheckpointApp(
                    run,
                    config_from_args(args, run.run_config),
                    grace_seconds=args.grace,
                    poll_interval=args.poll,
                    reading=reading,
                )
                _route_sigint(main)
                main.run()
                main.stop_watching()
                crashed = report_exit(main)
                if crashed is not None:
                    return crashed
                last_config = main.config
                break
            entry = state.entries.get(what)
            if entry is None or entry.run is None:
                continue
            with state.lock:
                run = entry.run
            exp_app = ExperimentApp(
                run,
                config_for(run.run_config, state.changes),
                grace_seconds=args.grace,
                poll_interval=args.poll,
                root_label=state.shown_root,
            )
            _route_sigint(exp_app)
            exp_app.run()
            exp_app.stop_watching()
            crashed = report_exit(exp_app)
            if crashed is not None:
                return crashed
            last_config = exp_app.config
            if exp_app.return_value != BACK:
                break
            # What changed inside (deletions, the run's progress) is re-read by the overview.
            state.on_change(_reread_all(what))
    finally:
        poller.stop()
    if last_config is not None:
        print(last_config.to_python())
    return EXIT_OK


def _reread_all(rel: str):
    from ckpt_tui.watch.root_poller import RootChange

    return RootChange(changed={rel: {""}})
