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
        [sys.executable, RUN_PY, "--trials", "3", "--checkpoints", "4", "--only", "json",
         "--repeat", "1", "--data", str(data), "--results-json", str(results)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
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
