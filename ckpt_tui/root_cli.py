"""``ckpt-tui ROOT --json`` and ``ckpt-tui ROOT --prune`` on a storage root of many experiments.
Never imports Textual.

Each experiment is planned under its own recorded ``CheckpointConfig`` with the retention flags
applied on top (the flags apply to every experiment). ``--json`` writes one document (see
``core/root_json.py``); ``--prune`` lists what goes per experiment, asks once, and deletes through
the same safe deletion as ``--prune`` on one run. Exit codes as for one run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Optional

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
from ckpt_tui.core.model import RunError
from ckpt_tui.core.readers import detect_layout, read_run
from ckpt_tui.core.retention import Plan
from ckpt_tui.core.retention import plan as make_plan
from ckpt_tui.core.storage import is_url, storage_for
from ckpt_tui.core.storage_root import Experiment, find_experiments
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.prune_cli import (
    LIST_LIMIT,
    WARN_LIMIT,
    _ask,
    _err,
    _is_terminal,
    _plural,
    _TerminalOut,
    human_bytes,
    print_outcomes,
)


def storage_root(path: str) -> Optional[list[Experiment]]:
    """None when ``path`` is itself a run; the experiments under it when it is a storage root;
    the RunError of ``path`` (today's message, exit 1) when it is neither: a directory that holds
    no run yet is not a root for the headless modes."""
    try:
        detect_layout(path)
        return None
    except RunError as exc:
        fs = storage_for(path)
        found = find_experiments(path) if fs.isdir(path) else []
        if not found:
            raise exc
        return found


def _plans(args, experiments: list[Experiment]) -> Iterator[tuple[Experiment, Optional[Plan], Optional[str]]]:
    for exp in experiments:
        try:
            run = read_run(exp.path)
        except RunError as exc:  # vanished or unreadable since it was found: the rest still goes
            yield exp, None, str(exc)
            continue
        yield (
            exp,
            make_plan(
                run,
                config_from_args(args, run.run_config),
                delete_untracked=bool(getattr(args, "delete_untracked", False)),
            ),
            None,
        )


def root_json_mode(args, experiments: list[Experiment]) -> int:
    from ckpt_tui.core.root_json import dump_root

    root = storage_for(args.run_dir).realpath(args.run_dir)
    dump_root(root, _plans(args, experiments), sys.stdout)
    sys.stdout.flush()
    return EXIT_OK


def root_prune_mode(args, experiments: list[Experiment]) -> int:
    out = _TerminalOut(sys.stdout)  # names and reasons come from the runs: escaped
    dry = bool(getattr(args, "dry_run", False))
    yes = bool(getattr(args, "yes", False))
    grace = float(getattr(args, "grace", 60.0))
    root = storage_for(args.run_dir).realpath(args.run_dir)

    problems = 0
    planned = []  # (exp, plan, todo, leftovers)
    for exp, plan, error in _plans(args, experiments):
        if plan is None:
            problems += 1
            _err(f"skipped experiment {exp.rel}: {error}")
            continue
        doomed = plan.to_delete()
        refused = refusals(plan, doomed)  # the plan deletes them, a deletion never would: kept
        planned.append((exp, plan, [c for c in doomed if c not in refused], find_leftovers(plan.run)))
        for c, why in refused.items():
            print(f"kept {terminal_safe(c.path)}: the plan deletes it, but {why}", file=out)

    todo_total = sum(len(t) for _, _, t, _ in planned)
    leftovers_total = sum(len(lo) for _, _, _, lo in planned)
    if not dry and not yes and not _is_terminal() and (todo_total or leftovers_total):
        _err("error: --prune without a terminal needs --yes (or --dry-run to see what it would delete)")
        return EXIT_USAGE
    if not dry:
        for exp, plan, todo, leftovers in planned:
            problem = state_problem(default_log_path(plan.run.root)) if todo or leftovers else None
            if problem is not None:  # refuse before asking: nothing is deleted, nothing written
                _err(f"error: {exp.rel}: {problem}")
                return EXIT_ERROR

    warned = 0
    for exp, plan, _, _ in planned:
        for w in plan.run.all_warnings() + plan.warnings:
            if warned < WARN_LIMIT:
                _err(f"warning: {exp.rel}: {w}")
            warned += 1
    if warned > WARN_LIMIT:
        _err(f"warning: ... and {warned - WARN_LIMIT:,} more (see --json)")

    if todo_total and is_url(root):  # an object store: what deleting really frees
        from ckpt_tui.core.deletion_remote import versioning_note

        note = versioning_note(root)
        if note is not None:
            _err(f"note: {note}")
    print(f"Storage root {terminal_safe(root)}: {_plural(len(planned), 'experiment')}", file=out)
    for exp, plan, todo, leftovers in planned:
        print(
            f"  {terminal_safe(exp.rel)} ({plan.run.layout}), {plan.config.to_python()}: "
            f"{_plural(plan.checkpoint_count, 'checkpoint')}, {len(todo):,} to delete "
            f"({human_bytes(sum(c.size_bytes or 0 for c in todo))})"
            + (f", {_plural(len(leftovers), 'leftover')} of an interrupted deletion" if leftovers else ""),
            file=out,
        )

    if not todo_total and not leftovers_total:
        print("Nothing to delete under these configs.", file=out)
        return EXIT_PARTIAL if problems else EXIT_OK

    if dry:
        for _exp, plan, todo, leftovers in planned:
            for p in leftovers:
                print(f"would remove leftover {terminal_safe(p)}", file=out)
            for c in todo:
                print(
                    f"would delete {terminal_safe(c.path)}  {human_bytes(c.size_bytes)}  ({plan.reason(c)})", file=out
                )
        print(
            f"Would delete {_plural(todo_total, 'checkpoint')} "
            f"({human_bytes(sum(c.size_bytes or 0 for _, _, t, _ in planned for c in t))}) in "
            f"{_plural(sum(1 for *_, t, _l in planned if t), 'experiment')}"
            + (f" and remove {_plural(leftovers_total, 'leftover')}" if leftovers_total else "")
            + ". Dry run: nothing was touched.",
            file=out,
        )
        return EXIT_OK

    # What the user sees is what gets checked: every request is prepared before asking.
    requests = []
    for exp, plan, todo, leftovers in planned:
        request = prepare(plan, todo, grace_seconds=grace) if todo else None
        requests.append((exp, plan, request, leftovers))
    n = sum(len(r.items) for _, _, r, _ in requests if r is not None)
    size = sum(r.total_bytes for _, _, r, _ in requests if r is not None)
    size += sum(leftover_size(p) for *_, ls in requests for p in ls)
    if not yes:
        shown = 0
        for exp, _, request, leftovers in requests:
            if (request is None or not request.items) and not leftovers:
                continue
            count = len(request.items) if request is not None else 0
            print(
                f"{terminal_safe(exp.rel)}: {_plural(count, 'checkpoint')}"
                + (f" ({human_bytes(request.total_bytes)})" if request is not None else "")
                + (f", {_plural(len(leftovers), 'leftover')}" if leftovers else ""),
                file=out,
            )
            for item in request.items if request is not None else []:
                if shown < LIST_LIMIT:
                    print(f"  {terminal_safe(item.path)}  {human_bytes(item.bytes)}  ({item.reason})", file=out)
                shown += 1
        if shown > LIST_LIMIT:
            print(f"  ... and {shown - LIST_LIMIT:,} more", file=out)
        out.flush()
        experiments_hit = sum(1 for _, _, r, ls in requests if (r is not None and r.items) or ls)
        question = (
            f"Delete {_plural(n, 'checkpoint')}"
            + (f" and {_plural(leftovers_total, 'leftover')}" if leftovers_total else "")
            + f" ({human_bytes(size)}) in {_plural(experiments_hit, 'experiment')}?"
        )
        if not _ask(question):
            print("Nothing deleted.", file=out)
            return EXIT_PARTIAL if problems else EXIT_OK

    deleted = freed = 0
    for _exp, plan, request, leftovers in requests:
        if leftovers:
            cleaned = clean_leftovers(leftovers, root=plan.run.root, log_path=default_log_path(plan.run.root))
            problems += print_outcomes(cleaned, out, leftover=True)[2]
        if request is None:
            continue
        done, bytes_freed, failed = print_outcomes(execute(request), out)
        deleted += done
        freed += bytes_freed
        problems += failed
    skipped = n - deleted
    print(
        f"Deleted {_plural(deleted, 'checkpoint')} ({human_bytes(freed)})"
        + (f"; {skipped:,} skipped or failed (see above)" if skipped else "")
        + ". Logs: .ckpt-tui/deletions.jsonl in each experiment",
        file=out,
    )
    return EXIT_PARTIAL if problems else EXIT_OK
