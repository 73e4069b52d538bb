"""A storage root as one JSON document: ``ckpt-tui ROOT --json`` (documented in README.md).

Every experiment's part is exactly the document ``--json`` prints for that experiment alone
(``plan_json``): its header (``schema``, ``root``, ``layout``, ``config``, ``run_config``,
``warnings``, ``leftovers``, ``summary``) is one element of ``experiments`` with the experiment's
path relative to the root added as ``experiment``, and its checkpoints are in the root's
``checkpoints``, each with the same ``experiment`` added. The checkpoints come first and the
experiments after them, so the document is written one experiment at a time and a root of
100,000 checkpoints never holds more than one experiment's text.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii
from typing import IO, Optional

from ckpt_tui.core.plan_json import SCHEMA_VERSION, dump, plan_to_dict
from ckpt_tui.core.retention import Plan
from ckpt_tui.core.storage_root import ROOT_LAYOUT, Experiment

_SUMMARY_KEYS = ("trials", "checkpoints", "keep", "delete", "reclaim_bytes", "total_bytes")
_CHECKPOINTS = ', "checkpoints": ['
_FIRST_FIELD = '{"trial":'


def experiment_part(plan: Plan) -> tuple[dict, str]:
    """(header, checkpoint array body) of the single-experiment document for ``plan``: written
    by ``plan_json.dump`` itself, so the two cannot disagree."""
    buf = io.StringIO()
    dump(plan, buf)
    text = buf.getvalue()
    cut = text.index(_CHECKPOINTS)
    head = json.loads(text[:cut] + "}")
    body = text[cut + len(_CHECKPOINTS) : text.rindex("]}")]
    return head, body


def _tag(body: str, rel: str, count: int) -> str:
    """The checkpoint objects of ``body`` with ``"experiment": rel`` added to each. Inside a
    JSON string every quote is escaped, so ``{"trial":`` only ever starts a checkpoint."""
    if not count:
        return ""
    tagged = body.replace(_FIRST_FIELD, '{"experiment":' + encode_basestring_ascii(rel) + ',"trial":')
    if tagged.count('{"experiment":') == count:
        return tagged
    rows = json.loads("[" + body + "]")  # a field order this module does not know: the slow way
    return ",".join(json.dumps({"experiment": rel, **row}, allow_nan=False) for row in rows)


def dump_root(root: str, plans: Iterable[tuple[Experiment, Optional[Plan], Optional[str]]], out: IO[str]) -> dict:
    """Write the root document for ``plans``: (experiment, its plan or None, why it could not be
    read or None), in the order given. Returns the root summary."""
    out.write(
        f'{{"schema": {SCHEMA_VERSION:d}, "root": {json.dumps(root)}, "layout": {json.dumps(ROOT_LAYOUT)}, '
        '"checkpoints": ['
    )
    headers: list[dict] = []
    errors: list[dict] = []
    totals = dict.fromkeys(_SUMMARY_KEYS, 0)
    first = True
    for exp, plan, error in plans:
        if plan is None:
            errors.append({"experiment": exp.rel, "path": exp.path, "error": error or "unreadable"})
            continue
        head, body = experiment_part(plan)
        tagged = _tag(body, exp.rel, head["summary"]["checkpoints"])
        if tagged:
            out.write(("" if first else ",") + tagged)
            first = False
        headers.append({"experiment": exp.rel, **head})
        for k in _SUMMARY_KEYS:
            totals[k] += head["summary"][k]
    summary = {"experiments": len(headers), **totals}
    tail = {"experiments": headers, "errors": errors, "summary": summary}
    out.write("], " + json.dumps(tail, allow_nan=False)[1:] + "\n")
    return summary


def root_to_dict(root: str, plans: Iterable[tuple[Experiment, Optional[Plan], Optional[str]]]) -> dict:
    """The root document as Python objects (tests compare it with the single documents)."""
    buf = io.StringIO()
    dump_root(root, plans, buf)
    return json.loads(buf.getvalue())


def single_header(plan: Plan) -> dict:
    """The single-experiment header, for callers that do not need the checkpoints."""
    return plan_to_dict(plan, with_checkpoints=False)
