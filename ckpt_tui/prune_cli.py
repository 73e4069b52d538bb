"""``ckpt-tui RUN --prune``: apply the plan headlessly, after confirming. Never imports Textual.

On a terminal it lists what goes and asks ``Delete N checkpoints (X GB)? [y/N]``; without one it
needs ``--yes``; ``--dry-run`` prints what it would delete and touches nothing. Leftovers of an
interrupted deletion are listed and removed with the same confirmation. Exit codes: 0 all went
(or nothing to do, or the user said no), 3 some were skipped or failed (each on stderr with its
reason), 1 the run could not be read, 2 usage.
"""

from __future__ import annotations

import sys

from ckpt_tui.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, config_from_args
from ckpt_tui.core.deletion import (
    clean_leftovers,
    default_log_path,
    execute,
    find_leftovers,
    leftover_size,
    prepare,
    refusals,
    state_problem,
)
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan as make_plan
from ckpt_tui.core.storage import is_url
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.core.units import human_bytes
from ckpt_tui.core.units import plural as _plural

LIST_LIMIT = 50  # lines of "what goes" shown before asking
WARN_LIMIT = 10


def _err(msg: str) -> None:
    print(terminal_safe(f"ckpt-tui: {msg}"), file=sys.stderr)


class _TerminalOut:
    """stdout for the listing: names, paths and reasons come from the run, so every control
    character in what is printed is escaped (core/text.py); the line ends stay."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(text if text == "\n" else terminal_safe(text))

    def flush(self) -> None:
        self._stream.flush()


def print_outcomes(outcomes, out, leftover: bool = False) -> tuple[int, int, int]:
    """Each deletion's outcome as --prune prints it (on one run or a storage root): what went on
    stdout, each skip or failure with its reason on stderr. (deleted, bytes freed, problems)."""
    deleted = freed = problems = 0
    for o in outcomes:
        if o.deleted:
            deleted += 1
            freed += o.bytes
            print(
                f"{'removed leftover' if leftover else 'deleted'} {terminal_safe(o.path)} ({human_bytes(o.bytes)})",
                file=out,
            )
        else:
            problems += 1
            _err(f"skipped {'leftover ' if leftover else ''}{terminal_safe(o.path)}: {o.reason}")
        out.flush()
    return deleted, freed, problems


def _ask(question: str) -> bool:
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    return answer.strip().lower() in ("y", "yes")


def _is_terminal() -> bool:
    try:
        return bool(sys.stdin and sys.stdin.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def prune_mode(args) -> int:
    run = read_run(args.run_dir)
    config = config_from_args(args, run.run_config)
    plan = make_plan(run, config, delete_untracked=getattr(args, "delete_untracked", False))
    out = _TerminalOut(sys.stdout)
    dry = bool(getattr(args, "dry_run", False))
    yes = bool(getattr(args, "yes", False))
    grace = float(getattr(args, "grace", 60.0))

    planned = plan.to_delete()
    refused = refusals(plan, planned)  # the plan deletes them, a deletion never would: shown as kept
    todo = [c for c in planned if c not in refused]
    reclaim = sum(c.size_bytes or 0 for c in todo)
    leftovers = find_leftovers(run)
    interactive = _is_terminal()
    if not dry and not yes and not interactive and (todo or leftovers):
        _err("error: --prune without a terminal needs --yes (or --dry-run to see what it would delete)")
        return EXIT_USAGE

    if not dry and (todo or leftovers):
        problem = state_problem(default_log_path(run.root))
        if problem is not None:  # refuse before asking: nothing is deleted, nothing written
            _err(f"error: {problem}")
            return EXIT_ERROR

    warnings = run.all_warnings() + plan.warnings
    if todo and is_url(run.root):  # an object store: what deleting really frees
        from ckpt_tui.core.deletion_remote import versioning_note

        note = versioning_note(run.root)
        if note is not None:
            _err(f"note: {note}")
    for w in warnings[:WARN_LIMIT]:
        _err(f"warning: {w}")
    if len(warnings) > WARN_LIMIT:
        _err(f"warning: ... and {len(warnings) - WARN_LIMIT:,} more (see --json)")

    print(
        f"Run {terminal_safe(run.root)} ({run.layout}), {config.to_python()}: "
        f"{_plural(plan.checkpoint_count, 'checkpoint')}, {len(todo):,} to delete "
        f"({human_bytes(reclaim)})",
        file=out,
    )
    untracked = plan.untracked_count
    if untracked and not plan.delete_untracked:
        print(
            f"{_plural(untracked, 'checkpoint')} not tracked by Ray ({human_bytes(plan.untracked_bytes)}): "
            "Ray will never delete them; kept (--delete-untracked deletes them)",
            file=out,
        )
    for c, why in list(refused.items())[:LIST_LIMIT]:
        print(f"kept {terminal_safe(c.path)}: the plan deletes it, but {why}", file=out)
    if len(refused) > LIST_LIMIT:
        print(
            f"kept ... and {len(refused) - LIST_LIMIT:,} more the plan deletes but a deletion never would (see --json)",
            file=out,
        )

    problems = 0
    # Leftovers of an interrupted deletion: the user confirmed those deletions already once.
    if leftovers:
        sizes = {p: leftover_size(p) for p in leftovers}
        total = sum(sizes.values())
        print(f"{_plural(len(leftovers), 'leftover')} of an interrupted deletion ({human_bytes(total)}):", file=out)
        for p in leftovers:
            print(f"  {terminal_safe(p)}  {human_bytes(sizes[p])}", file=out)
        if dry:
            print(f"Would remove {_plural(len(leftovers), 'leftover')} ({human_bytes(total)}).", file=out)
        elif yes or _ask(f"Remove {_plural(len(leftovers), 'leftover')} ({human_bytes(total)})?"):
            problems += print_outcomes(
                clean_leftovers(leftovers, root=run.root, log_path=default_log_path(run.root)), out, leftover=True
            )[2]
        else:
            print("Leftovers kept.", file=out)

    if not todo:
        print("Nothing to delete under this config.", file=out)
        return EXIT_PARTIAL if problems else EXIT_OK

    if dry:
        for c in todo:
            print(f"would delete {terminal_safe(c.path)}  {human_bytes(c.size_bytes)}  ({plan.reason(c)})", file=out)
        print(
            f"Would delete {_plural(len(todo), 'checkpoint')} ({human_bytes(reclaim)}). Dry run: nothing was touched.",
            file=out,
        )
        return EXIT_OK

    request = prepare(plan, todo, grace_seconds=grace)  # what the user sees is what gets checked
    n = len(request.items)
    if not yes:
        for item in request.items[:LIST_LIMIT]:
            print(f"  {terminal_safe(item.path)}  {human_bytes(item.bytes)}  ({item.reason})", file=out)
        if n > LIST_LIMIT:
            print(f"  ... and {n - LIST_LIMIT:,} more", file=out)
        out.flush()
        if not _ask(f"Delete {_plural(n, 'checkpoint')} ({human_bytes(request.total_bytes)})?"):
            print("Nothing deleted.", file=out)
            return EXIT_PARTIAL if problems else EXIT_OK

    deleted, freed, failed = print_outcomes(execute(request), out)
    problems += failed
    skipped = n - deleted
    print(
        f"Deleted {_plural(deleted, 'checkpoint')} ({human_bytes(freed)})"
        + (f"; {skipped:,} skipped or failed (see above)" if skipped else "")
        + f". Log: {terminal_safe(request.log_path)}",
        file=out,
    )
    return EXIT_PARTIAL if problems else EXIT_OK
