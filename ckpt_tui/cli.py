"""Command line: argument parsing and the headless modes.

``--json`` and ``--prune`` use only the core and never import Textual; the interactive app is
imported only when it is about to start.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Optional

from ckpt_tui import __version__
from ckpt_tui.core.config import CheckpointConfig, ConfigError, parse_num_to_keep
from ckpt_tui.core.model import RunError
from ckpt_tui.core.storage import MissingExtra
from ckpt_tui.core.text import terminal_safe

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="ckpt-tui",
        description="Browse, rank and prune Ray Tune / Ray Train checkpoints under a CheckpointConfig.",
    )
    p.add_argument("run_dir", nargs="?", help="a Ray Tune experiment or trial dir, or a Ray Train v2 run dir")
    p.add_argument("--version", action="version", version=f"ckpt-tui {__version__}")
    g = p.add_argument_group("retention (default: the run's own CheckpointConfig, else Ray's defaults)")
    g.add_argument("--num-to-keep", metavar="N|none", help="checkpoints to keep per trial, or 'none' to keep all")
    g.add_argument("--score-attribute", metavar="KEY", help="metric to rank by ('a/b' for nested); 'none' for recency")
    g.add_argument("--score-order", metavar="max|min", help="whether higher (max) or lower (min) is better")
    g.add_argument(
        "--delete-untracked",
        action="store_true",
        help="also delete checkpoints Ray does not track (Ray never deletes them); never a restore "
        "point or a trial's newest",
    )
    m = p.add_argument_group("modes")
    m.add_argument("--json", action="store_true", help="print the plan as JSON and exit (no UI)")
    m.add_argument("--prune", action="store_true", help="delete what the plan marks, after confirming (no UI)")
    m.add_argument("--yes", action="store_true", help="with --prune: do not ask (needed without a terminal)")
    m.add_argument("--dry-run", action="store_true", help="with --prune: print what would be deleted, touch nothing")
    m.add_argument(
        "--grace",
        metavar="SECONDS",
        type=_non_negative_float,
        default=60.0,
        help="never delete a RUNNING trial's checkpoint younger than this (default 60)",
    )
    m.add_argument(
        "--poll",
        metavar="SECONDS",
        type=_positive_float,
        default=None,
        help="watch by polling every SECONDS instead of filesystem events",
    )
    m.add_argument("--demo", action="store_true", help="open the app on a live demo run it writes itself")
    return p


def _non_negative_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return v


def _positive_float(text: str) -> float:
    v = _non_negative_float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return v


def config_from_args(args, run_config: Optional[CheckpointConfig]) -> CheckpointConfig:
    """The run's own config (or Ray's defaults) with the user's flags applied on top."""
    base = run_config or CheckpointConfig()
    changes = {}
    if args.num_to_keep is not None:
        changes["num_to_keep"] = parse_num_to_keep(args.num_to_keep)
    if args.score_attribute is not None:
        attr = args.score_attribute.strip()
        changes["checkpoint_score_attribute"] = None if attr.lower() in ("", "none") else attr
    if args.score_order is not None:
        changes["checkpoint_score_order"] = args.score_order
    return base.with_changes(**changes)


def _validate_flags(args) -> None:
    """Flag values checked before any disk is read, so a typo costs nothing."""
    config_from_args(args, None)
    if (args.yes or args.dry_run) and not args.prune:
        raise UsageError("--yes and --dry-run go with --prune")
    if args.json and args.prune:
        raise UsageError("--json and --prune are separate modes: choose one")
    if args.demo and (args.json or args.prune):
        raise UsageError("--demo opens the app: it does not combine with --json or --prune")
    if not args.demo and args.run_dir is None:
        raise UsageError("give a run directory (or --demo to try it on a demo run)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _validate_flags(args)
    except (UsageError, ConfigError) as exc:
        print(terminal_safe(f"ckpt-tui: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    try:
        if (args.json or args.prune) and not args.demo:  # issue 13: a storage root of experiments
            from ckpt_tui.root_cli import root_json_mode, root_prune_mode, storage_root

            experiments = storage_root(args.run_dir)
            if experiments is not None:
                return root_json_mode(args, experiments) if args.json else root_prune_mode(args, experiments)
        if args.json:
            return _json_mode(args)
        if args.prune:
            from ckpt_tui.prune_cli import prune_mode

            return prune_mode(args)
        return _app_mode(args)
    except (RunError, MissingExtra) as exc:
        print(terminal_safe(f"ckpt-tui: error: {exc}"), file=sys.stderr)
        return EXIT_ERROR
    except ConfigError as exc:
        print(terminal_safe(f"ckpt-tui: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ckpt-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `ckpt-tui --json | head`: the reader left; nothing to report.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until the process exits
        except OSError:
            pass
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        print(terminal_safe(f"ckpt-tui: internal error: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return EXIT_ERROR


def _json_mode(args) -> int:
    from ckpt_tui.core.plan_json import dump
    from ckpt_tui.core.readers import read_run
    from ckpt_tui.core.retention import plan

    run = read_run(args.run_dir)
    config = config_from_args(args, run.run_config)
    dump(plan(run, config, delete_untracked=args.delete_untracked), sys.stdout)
    sys.stdout.flush()
    return EXIT_OK


def _app_mode(args) -> int:
    from ckpt_tui.ui.launch import run_app

    return run_app(args)
