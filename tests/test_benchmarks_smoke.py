"""The benchmark command works end to end on a tiny run, and the --json subject lists what the
minimal reader counts. A correctness check only: no timing is asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_PY = os.path.join(REPO, "benchmarks", "run.py")


def test_benchmark_json_smoke(tmp_path):
    data = tmp_path / "run"
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            RUN_PY,
            "--trials",
            "3",
            "--checkpoints",
            "4",
            "--only",
            "json",
            "--repeat",
            "1",
            "--data",
            str(data),
            "--results-json",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "| benchmark" in out and "| json " in out, out
    assert "ERROR" not in out, out
    check = json.loads(results.read_text())["json"]["check"]
    assert check["ok"], check
    assert check["subject_checkpoints"] == check["baseline_checkpoints"] == 12
    assert check["subject_bytes"] == check["baseline_bytes"] > 0
    # The generated run is reused, not rewritten, when its parameters match.
    marker = json.loads((data / ".ckpt-tui-bench.json").read_text())
    assert marker["trials"] == 3 and marker["checkpoints"] == 4 and not marker["dirty"]


def test_benchmark_root_smoke(tmp_path):
    """The storage root benchmark on a tiny root: it runs, and the root --json lists every
    checkpoint the minimal reader counts. No timing is asserted."""
    data = tmp_path / "root"
    proc = subprocess.run(
        [
            sys.executable,
            RUN_PY,
            "--only",
            "root",
            "--experiments",
            "3",
            "--root-trials",
            "2",
            "--root-checkpoints",
            "3",
            "--repeat",
            "1",
            "--root-data",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "| root: first rows" in out and "| root: app peak RSS" in out, out
    assert "ERROR" not in out, out
    check = next(line for line in out.splitlines() if line.startswith("| root: --json lists"))
    assert "| 18 " in check and "PASS" in check, check
    assert len([d for d in data.rglob("experiment_state-*.json")]) == 3
