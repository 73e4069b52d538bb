"""The --json contract and the CLI's error handling, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ckpt_tui.cli import main
from tests.conftest import RAY_RUNS

CHECKPOINT_FIELDS = {
    "trial",
    "name",
    "path",
    "index",
    "iteration",
    "score",
    "rank",
    "keep",
    "reason",
    "size_bytes",
    "mtime",
}


def run_cli(*args: str):
    proc = subprocess.run([sys.executable, "-m", "ckpt_tui", *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_json_schema_on_real_run():
    code, out, err = run_cli(
        str(RAY_RUNS / "keep_all"), "--num-to-keep", "3", "--score-attribute", "loss", "--score-order", "min", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= {"root", "layout", "config", "run_config", "warnings", "summary", "checkpoints"}
    assert doc["layout"] == "tune" and doc["root"] == os.path.realpath(RAY_RUNS / "keep_all")
    assert doc["config"] == {
        "num_to_keep": 3,
        "checkpoint_score_attribute": "loss",
        "checkpoint_score_order": "min",
        "checkpoint_frequency": 0,
        "checkpoint_at_end": False,
    }
    assert doc["run_config"]["num_to_keep"] is None
    s = doc["summary"]
    assert (s["checkpoints"], s["keep"], s["delete"]) == (24, 11, 13)
    deleted = [c for c in doc["checkpoints"] if not c["keep"]]
    assert s["reclaim_bytes"] == sum(c["size_bytes"] for c in deleted) > 0
    for c in doc["checkpoints"]:
        assert set(c) >= CHECKPOINT_FIELDS
        assert os.path.isabs(c["path"]) and os.path.isdir(c["path"])
        assert c["score"] is None or isinstance(c["score"], float)
    nan_rows = [c for c in doc["checkpoints"] if c["warning"] == "NaN ranks last"]
    assert nan_rows and all(c["score"] is None for c in nan_rows)

    def reject(token):
        raise AssertionError(f"non-standard JSON literal {token}")

    json.loads(out, parse_constant=reject)  # strict JSON: no NaN/Infinity literals


def test_json_defaults_to_the_runs_own_config():
    _code, out, _ = run_cli(str(RAY_RUNS / "k3_loss_min"), "--json")
    doc = json.loads(out)
    assert doc["config"]["num_to_keep"] == 3 and doc["config"] == doc["run_config"]
    assert doc["summary"]["delete"] == 0


def test_json_mode_never_imports_textual(tmp_path):
    code = (
        "import sys, io; from ckpt_tui.cli import main; sys.stdout = io.StringIO();"
        f"rc = main([{str(RAY_RUNS / 'keep_all')!r}, '--json']); sys.stdout = sys.__stdout__;"
        "bad = [m for m in sys.modules if m.startswith(('textual', 'watchdog'))];"
        "print(rc, bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert out.strip() == "0 []"


@pytest.mark.parametrize(
    "args,code,message",
    [
        (["/no/such/run", "--json"], 1, "no such directory: /no/such/run"),
        # A dir with no run in it or below it (tests/ray_runs itself is now a storage root: issue 13).
        ([str(RAY_RUNS.parent / "ui" / "__snapshots__"), "--json"], 1, "is not a Ray run"),
        ([str(RAY_RUNS / "keep_all"), "--num-to-keep", "0", "--json"], 2, "num_to_keep must be an integer >= 1"),
        ([str(RAY_RUNS / "keep_all"), "--num-to-keep", "three", "--json"], 2, "'three'"),
        ([str(RAY_RUNS / "keep_all"), "--score-order", "MAX", "--json"], 2, "must be 'max' or 'min', got 'MAX'"),
        ([str(RAY_RUNS / "keep_all"), "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
        ([str(RAY_RUNS / "keep_all"), "--poll", "-1"], 2, "--poll"),
        (["--json"], 2, "give a run directory"),
    ],
)
def test_errors_are_one_line_without_traceback(args, code, message):
    rc, out, err = run_cli(*args)
    assert rc == code
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""


def test_file_instead_of_dir(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    rc, _, err = run_cli(str(f), "--json")
    assert rc == 1 and "not a directory" in err


def test_version():
    rc, out, _ = run_cli("--version")
    assert rc == 0 and out.startswith("ckpt-tui ")


def test_main_in_process(capsys):
    assert (
        main([str(RAY_RUNS / "train_v2_k2_score_max"), "--num-to-keep", "1", "--score-attribute", "score", "--json"])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["layout"] == "train-v2"
    # best first: 3.0 (top 1), 2.0 (goes), 0.5 (the latest, kept)
    assert [(c["score"], c["keep"]) for c in doc["checkpoints"]] == [(3.0, True), (2.0, False), (0.5, True)]


def test_streamed_document_equals_the_reference_dict(tmp_path):
    import io

    from ckpt_tui.core.config import CheckpointConfig
    from ckpt_tui.core.plan_json import dump, plan_to_dict
    from ckpt_tui.core.readers import read_run
    from ckpt_tui.core.retention import plan

    # odd names: quotes, backslashes, Unicode, a non-UTF-8 byte
    root = tmp_path / 'run "x"\\ü'
    trial = os.path.join(os.fsencode(str(root)), b"trainable_\xff_00000")
    os.makedirs(trial)
    for i in range(3):
        os.mkdir(os.path.join(trial, b"checkpoint_%06d" % i))
    with open(os.path.join(trial, b"result.json"), "w") as f:
        for i, loss in enumerate([0.5, float("nan"), "bad"]):
            f.write(json.dumps({"loss": loss, "checkpoint_dir_name": f"checkpoint_{i:06d}"}) + "\n")
    for run_dir, config in [
        (str(root), CheckpointConfig(1, "loss", "min")),
        (str(RAY_RUNS / "keep_all"), CheckpointConfig(2, "acc")),
        (str(RAY_RUNS / "train_v2_k2_score_max"), CheckpointConfig(1, "score")),
    ]:
        p = plan(read_run(run_dir), config)
        out = io.StringIO()
        dump(p, out)
        assert json.loads(out.getvalue()) == json.loads(json.dumps(plan_to_dict(p)))
