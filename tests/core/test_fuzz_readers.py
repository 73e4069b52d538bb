"""Bad input never raises: random bytes and random JSON in result.json and in the Train v2
snapshot, deep nesting, huge and tiny numbers, strings/bools/nulls as metrics, result.json as a
directory. read_run and plan never raise, and ``--json`` always prints strict JSON."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckpt_tui.cli import main
from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.plan_json import plan_to_dict
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan
from tests.conftest import write_tune_run, write_v2_run

REPO = Path(__file__).resolve().parents[2]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

CONFIGS = [
    CheckpointConfig(),
    CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="loss", checkpoint_score_order="min"),
    CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="loss", checkpoint_score_order="max"),
    CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="nested/val"),
    CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score"),
    CheckpointConfig(num_to_keep=1),
]


def _strict(text: str):
    def no_constant(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=no_constant)


def check_run(root: Path) -> None:
    run = read_run(str(root))
    for cfg in CONFIGS:
        p = plan(run, cfg)
        json.dumps(plan_to_dict(p), allow_nan=False)
        for c in p.decisions:
            p.reason(c)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(root), "--json", "--num-to-keep", "1", "--score-attribute", "loss"])
    assert code == 0, err.getvalue()
    doc = _strict(out.getvalue())
    assert doc["schema"] == 1
    assert "Traceback" not in err.getvalue()


# ---------------------------------------------------------------------------------------------
# Strategies

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, -5e-324, 0.0, -0.0, 2**63, -(2**63) - 1, 10**309]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)
metric_values = st.one_of(scalars, json_values)


@st.composite
def report_lines(draw):
    lines = []
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["report", "report", "report", "junk", "json", "nested"]))
        if kind == "report":
            obj = {
                "loss": draw(metric_values),
                "nested": {"val": draw(metric_values)},
                "checkpoint_dir_name": draw(
                    st.one_of(st.just(f"checkpoint_{i:06d}"), st.none(), st.integers(), st.text(max_size=5))
                ),
                "training_iteration": draw(st.one_of(st.integers(), st.none(), st.text(max_size=3))),
            }
            if draw(st.booleans()):
                obj.pop("loss")
            lines.append(json.dumps(obj).encode())
        elif kind == "junk":
            lines.append(draw(st.binary(max_size=40)))
        elif kind == "json":
            lines.append(json.dumps(draw(json_values)).encode())
        else:
            depth = draw(st.sampled_from([10, 500, 990, 5000]))
            lines.append(
                b'{"loss": '
                + b"[" * depth
                + b"1"
                + b"]" * depth
                + f', "checkpoint_dir_name": "checkpoint_{i:06d}"}}'.encode()
            )
    return b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\n\n", b'{"trunc']))


def _fresh(tmp: str, name: str) -> Path:
    root = Path(tmp) / name
    if root.exists():
        shutil.rmtree(root)
    return root


# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(data=report_lines())
def test_fuzz_tune_result_json(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = write_tune_run(_fresh(tmp, "run"), [[{"loss": 1.0}] * 6, [{"loss": 2.0}]])
        trial = sorted(root.iterdir())[0]
        (trial / "result.json").write_bytes(data)
        check_run(root)


@SETTINGS
@given(data=st.binary(max_size=300))
def test_fuzz_tune_random_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = write_tune_run(_fresh(tmp, "run"), [[{"loss": 1.0}] * 4])
        trial = next(root.iterdir())
        (trial / "result.json").write_bytes(data)
        (trial / "params.json").write_bytes(data[::-1])
        check_run(root)


@SETTINGS
@given(metrics=st.lists(metric_values, min_size=1, max_size=6))
def test_fuzz_metric_types(metrics):
    """Every metric value type Ray could see: the plan explains, never raises."""
    with tempfile.TemporaryDirectory() as tmp:
        root = _fresh(tmp, "run")
        write_tune_run(root, [[{"loss": m, "nested": {"val": m}} for m in metrics]])
        check_run(root)


@st.composite
def snapshots(draw):
    names = [f"checkpoint_2026-01-01_00-00-{i:02d}.{i:06d}" for i in range(4)]
    kind = draw(st.sampled_from(["valid", "valid", "random", "bytes", "deep"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        depth = draw(st.sampled_from([100, 2000, 100000]))
        return b'{"checkpoint_results": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "random":
        return json.dumps(draw(json_values)).encode()
    results = []
    for n in draw(st.lists(st.sampled_from([*names, "", "x"]), max_size=5)):
        item = {
            "checkpoint_dir_name": draw(st.one_of(st.just(n), st.none(), st.integers())),
            "metrics": draw(
                st.one_of(
                    st.dictionaries(st.sampled_from(["score", "step", "loss"]), metric_values, max_size=3),
                    metric_values,
                )
            ),
        }
        results.append(item)
    snap = {
        "checkpoint_results": draw(st.one_of(st.just(results), json_values)),
        "checkpoint_report_indices": draw(
            st.one_of(st.lists(st.one_of(st.integers(), st.booleans(), st.none()), max_size=5), json_values)
        ),
        "latest_checkpoint_result": draw(
            st.one_of(st.none(), st.sampled_from(results) if results else st.none(), json_values)
        ),
        "current_report_index": draw(metric_values),
    }
    return json.dumps(snap).encode()


@SETTINGS
@given(data=snapshots())
def test_fuzz_train_v2_snapshot(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = write_v2_run(_fresh(tmp, "run"), [3.0, 1.0, 2.0, 0.5])
        (root / "checkpoint_manager_snapshot.json").write_bytes(data)
        check_run(root)


def test_result_json_is_a_directory(tmp_path):
    root = write_tune_run(tmp_path / "run", [[{"loss": 1.0}, {"loss": 2.0}]])
    trial = next(root.iterdir())
    (trial / "result.json").unlink()
    (trial / "result.json").mkdir()
    (trial / "params.json").unlink()
    (trial / "params.json").mkdir()
    run = read_run(str(root))
    assert any("result.json: is a directory" in w for w in run.all_warnings())
    check_run(root)


def test_snapshot_is_a_directory(tmp_path):
    root = write_v2_run(tmp_path / "run", [1.0, 2.0])
    (root / "checkpoint_manager_snapshot.json").unlink()
    (root / "checkpoint_manager_snapshot.json").mkdir()
    run = read_run(str(root))
    assert any("is a directory" in w for w in run.all_warnings())
    check_run(root)


def test_huge_numbers_warn_with_file_and_line(tmp_path):
    root = write_tune_run(tmp_path / "run", [[{"loss": 1.0}, {"loss": 10**400}, {"loss": 2.0}]])
    run = read_run(str(root))
    p = plan(run, CONFIGS[1])
    doc = plan_to_dict(p)
    json.dumps(doc, allow_nan=False)
    assert any("line 2" in w and "fail" in w for w in doc["warnings"])  # names the line; Ray fails it
    check_run(root)


def test_json_subprocess_prints_strict_json(tmp_path):
    root = write_tune_run(
        tmp_path / "run",
        [
            [
                {"loss": float("nan")},
                {"loss": float("inf")},
                {"loss": 1e-320},
                {"loss": 10**30},
                {"loss": "high"},
                {"loss": None},
                {"loss": True},
            ]
        ],
    )
    trial = next(root.iterdir())
    with open(trial / "result.json", "ab") as f:
        f.write(b"\xff\xfe garbage\n" + b"[" * 100000 + b"\n" + b'{"loss": 1, "checkpoint_dir_name": "checkpoint_0')
    res = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", str(root), "--json", "--num-to-keep", "1", "--score-attribute", "loss"],
        cwd=REPO,
        capture_output=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    doc = _strict(res.stdout.decode("utf-8"))
    assert doc["summary"]["checkpoints"] == 7
    assert not math.isnan(doc["summary"]["total_bytes"])
    assert b"Traceback" not in res.stderr
    assert any("line 8" in w for w in doc["warnings"])
    os.sync()


def test_deep_dict_nesting(tmp_path):
    """Metrics nested hundreds of dicts deep (flattened for 'a/b' attributes) and beyond what
    json can parse: a warning naming file and line, never an exception."""
    root = write_tune_run(tmp_path / "run", [[{"loss": 1.0}] * 4])
    trial = next(root.iterdir())
    lines = []
    for i, depth in enumerate((10, 500, 900, 5000)):
        inner = "1"
        for _ in range(depth):
            inner = '{"val": ' + inner + "}"
        lines.append('{"loss": 2, "nested": ' + inner + f', "checkpoint_dir_name": "checkpoint_{i:06d}"}}')
    (trial / "result.json").write_text("\n".join(lines) + "\n")
    run = read_run(str(root))
    assert any("result.json line 4: not valid JSON" in w for w in run.all_warnings())
    check_run(root)
