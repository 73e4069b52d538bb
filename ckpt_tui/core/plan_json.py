"""The plan as one JSON document: the ``--json`` contract (documented in README.md)."""

from __future__ import annotations

import json
from typing import IO

from ckpt_tui.core.readers.common import gc_paused
from ckpt_tui.core.retention import Plan, explain, note_text

SCHEMA_VERSION = 1


def plan_to_dict(plan: Plan) -> dict:
    run = plan.run
    config = plan.config
    layout = run.layout
    failing = plan.failing_trials
    checkpoints = []
    append = checkpoints.append
    decisions = plan.decisions
    for trial_id, ordered in plan.order.items():
        trial = run.trials[trial_id]
        why_failing = failing.get(trial_id)
        for ckpt in ordered:
            d = decisions[ckpt]
            report = ckpt.report
            append({
                "trial": trial_id,
                "trial_status": trial.status,
                "name": ckpt.name,
                "path": ckpt.path,
                "index": report.index if report is not None else None,
                "iteration": report.iteration if report is not None else None,
                "score": d.score,
                "rank": d.rank,
                "of": d.of,
                "keep": d.keep,
                "reason": explain(d, config, layout, why_failing),
                "warning": note_text(d, config, layout),
                "size_bytes": ckpt.size_bytes,
                "mtime": ckpt.mtime,
                "symlink": ckpt.is_symlink,
            })
    return {
        "schema": SCHEMA_VERSION,
        "root": run.root,
        "layout": layout,
        "config": config.to_dict(),
        "run_config": run.run_config.to_dict() if run.run_config is not None else None,
        "warnings": run.all_warnings() + plan.warnings,
        "leftovers": list(run.leftovers),
        "summary": {
            "trials": len(run.trials),
            "checkpoints": plan.checkpoint_count,
            "keep": plan.keep_count,
            "delete": plan.delete_count,
            "reclaim_bytes": plan.reclaim_bytes,
            "total_bytes": plan.total_bytes,
        },
        "checkpoints": checkpoints,
    }


def dump(plan: Plan, out: IO[str]) -> None:
    # allow_nan=False: the output is strict JSON; scores were already made finite or null.
    with gc_paused():  # 100,000 small dicts, no cycles: collections would only walk the run
        text = json.dumps(plan_to_dict(plan), allow_nan=False)
    out.write(text)
    out.write("\n")
