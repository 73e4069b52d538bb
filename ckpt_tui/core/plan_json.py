"""The plan as one JSON document: the ``--json`` contract (documented in README.md)."""

from __future__ import annotations

import json
import os
from base64 import b64encode
from json.encoder import encode_basestring_ascii
from typing import IO, Optional

from ckpt_tui.core.deletion import refusals
from ckpt_tui.core.readers.common import gc_paused
from ckpt_tui.core.retention import DELETE_BELOW, NOTE_NOT_NUMERIC, Plan, explain, note_text

SCHEMA_VERSION = 1


def plan_to_dict(plan: Plan, with_checkpoints: bool = True, refused: Optional[dict] = None) -> dict:
    """The document as Python objects: the reference for what ``dump`` writes. ``refused``:
    what ``deletion.refusals`` says (computed here when not given)."""
    run = plan.run
    config = plan.config
    refused = refusals(plan) if refused is None else refused
    refused_bytes = sum(c.size_bytes or 0 for c in refused)
    doc = {
        "schema": SCHEMA_VERSION,
        "root": run.root,
        "layout": run.layout,
        "config": config.to_dict(),
        "run_config": run.run_config.to_dict() if run.run_config is not None else None,
        "warnings": run.all_warnings() + plan.warnings,
        "leftovers": list(run.leftovers),
        "summary": {
            "trials": len(run.trials),
            "checkpoints": plan.checkpoint_count,
            "keep": plan.keep_count + len(refused),
            "delete": plan.delete_count - len(refused),
            "reclaim_bytes": plan.reclaim_bytes - refused_bytes,
            "total_bytes": plan.total_bytes,
            "untracked": plan.untracked_count,
            "untracked_bytes": plan.untracked_bytes,
        },
        "delete_untracked": plan.delete_untracked,
    }
    if with_checkpoints:
        doc["checkpoints"] = [dict(zip(CHECKPOINT_FIELDS, row)) for row in _rows(plan, refused)]
    return doc


CHECKPOINT_FIELDS = (
    "trial",
    "trial_status",
    "name",
    "path",
    "index",
    "iteration",
    "score",
    "rank",
    "of",
    "keep",
    "reason",
    "warning",
    "size_bytes",
    "mtime",
    "symlink",
    "tracked",
    "restore_point_of",
    "path_b64",
)


def path_b64(path: str):
    """None when ``path`` is valid UTF-8 (then the JSON string is exact); otherwise its bytes
    as base64. A name that is not UTF-8 reaches JSON as lone surrogates (``\udcff``), which
    jq and most decoders turn into U+FFFD: a path no longer on disk. The bytes are lossless."""
    if path.isascii():
        return None
    try:
        path.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return b64encode(os.fsencode(path)).decode("ascii")


def _rows(plan: Plan, refused: dict):
    """One tuple per checkpoint, in CHECKPOINT_FIELDS order, trial by trial, best first. A
    checkpoint the plan deletes but a deletion would leave alone (``refused``) is kept, with
    the reason the deletion would give."""
    run = plan.run
    config = plan.config
    layout = run.layout
    failing = plan.failing_trials
    trials = run.trials
    reasons: dict = {}  # most checkpoints share a handful of sentences: build each once
    for ckpt, d in plan.walk():
        trial_id = ckpt.trial_id
        report = ckpt.report
        why_failing = failing.get(trial_id)
        key = (
            d.code,
            d.rank if d.code == DELETE_BELOW else None,
            d.of,
            d.note,
            d.deleted_by,
            d.rank_then,
            why_failing,
            type(d.value) if d.note == NOTE_NOT_NUMERIC else None,
            d.restore_of,
        )
        texts = reasons.get(key)
        if texts is None:
            texts = reasons[key] = (explain(d, config, layout, why_failing), note_text(d, config, layout))
        value = d.value
        score = value if type(value) is float and value - value == 0.0 else d.score  # finite floats
        keep, reason = d.keep, texts[0]
        if not keep and refused and ckpt in refused:
            keep, reason = True, refused[ckpt]
        logged = report if report is not None else ckpt.logged
        restore_of = [t or trial_id for t in d.restore_of] if d.restore_of else []
        yield (
            trial_id,
            trials[trial_id].status,
            ckpt.name,
            ckpt.path,
            report.index if report is not None else None,
            logged.iteration if logged is not None else None,
            score,
            d.rank,
            d.of,
            keep,
            reason,
            texts[1],
            ckpt.size_bytes,
            ckpt.mtime,
            ckpt.is_symlink,
            ckpt.tracked,
            restore_of,
            path_b64(ckpt.path),
        )


def dump(plan: Plan, out: IO[str]) -> None:
    """Write the document as strict JSON (no NaN/Infinity: scores are finite or null).

    Written row by row with the json module's own C string encoder rather than through
    100,000 dicts and json.dumps: the same document (tests/cli/test_cli_json.py compares them),
    in about half the time and a fraction of the memory."""
    with gc_paused():
        refused = refusals(plan)
        head = json.dumps(plan_to_dict(plan, with_checkpoints=False, refused=refused), allow_nan=False)
        out.write(head[:-1] + ', "checkpoints": [')
        enc = encode_basestring_ascii
        chunk: list[str] = []
        first = True
        for (
            trial_id,
            status,
            name,
            path,
            index,
            iteration,
            score,
            rank,
            of,
            keep,
            reason,
            warning,
            size,
            mtime,
            symlink,
            tracked,
            restore_of,
            raw_path,
        ) in _rows(plan, refused):
            chunk.append(
                # ints format as JSON ints; repr() of a finite float is what json.dumps writes
                f'{{"trial":{enc(trial_id)},"trial_status":{"null" if status is None else enc(status)},'
                f'"name":{enc(name)},"path":{enc(path)},'
                f'"index":{"null" if index is None else index},'
                f'"iteration":{"null" if iteration is None else iteration},'
                f'"score":{"null" if score is None else repr(score)},'
                f'"rank":{"null" if rank is None else rank},"of":{of},'
                f'"keep":{"true" if keep else "false"},"reason":{enc(reason)},'
                f'"warning":{"null" if warning is None else enc(warning)},'
                f'"size_bytes":{"null" if size is None else size},'
                f'"mtime":{"null" if mtime is None else repr(mtime)},'
                f'"symlink":{"true" if symlink else "false"},'
                f'"tracked":{"null" if tracked is None else "true" if tracked else "false"},'
                f'"restore_point_of":[{",".join(map(enc, restore_of))}],'
                f'"path_b64":{"null" if raw_path is None else enc(raw_path)}}}'
            )
            if len(chunk) >= 2000:
                out.write(("" if first else ",") + ",".join(chunk))
                first = False
                chunk = []
        if chunk:
            out.write(("" if first else ",") + ",".join(chunk))
        out.write("]}\n")
