"""``ckpt-tui RUN --prune``: confirmation, --yes, --dry-run, exit codes, leftovers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ckpt_tui.cli import main
from ckpt_tui.core.deletion import ASIDE_PREFIX
from tests.core.test_deletion import tree_state

REPO = Path(__file__).resolve().parents[2]
K3 = ["--num-to-keep", "3", "--score-attribute", "loss", "--score-order", "min"]


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Pipe(io.StringIO):
    def isatty(self):
        return False


def ckpt_names(root: Path) -> list[str]:
    return sorted(
        f"{t.name}/{c.name}"
        for t in root.iterdir()
        if t.name.startswith("trainable_")
        for c in t.iterdir()
        if c.name.startswith("checkpoint_")
    )


def test_dry_run_touches_nothing(ray_run, tmp_path, capsys):
    root = ray_run("keep_all")
    before = tree_state(tmp_path)
    mtimes = {p: os.lstat(p).st_mtime_ns for p in before}
    assert main([str(root), *K3, "--prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would delete ") == 13 and "Dry run: nothing was touched" in out
    assert "Would delete 13 checkpoints (45.1 kB)" in out
    assert tree_state(tmp_path) == before and not (root / ".ckpt-tui").exists()
    assert {p: os.lstat(p).st_mtime_ns for p in before} == mtimes


def test_no_terminal_needs_yes(ray_run, tmp_path, capsys, monkeypatch):
    root = ray_run("keep_all")
    monkeypatch.setattr(sys, "stdin", Pipe("y\n"))
    before = tree_state(tmp_path)
    assert main([str(root), *K3, "--prune"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs --yes" in err
    assert tree_state(tmp_path) == before


def test_terminal_yes(ray_run, capsys, monkeypatch):
    root = ray_run("keep_all")
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    assert main([str(root), *K3, "--prune"]) == 0
    cap = capsys.readouterr()
    assert "Delete 13 checkpoints (45.1 kB)? [y/N]" in cap.err
    assert cap.out.count("deleted ") == 13 and "Deleted 13 checkpoints" in cap.out
    assert str(root / ".ckpt-tui" / "deletions.jsonl") in cap.out
    assert len(ckpt_names(root)) == 24 - 13


@pytest.mark.parametrize("answer", ["n\n", "\n", "", "yes please\n"])
def test_terminal_anything_but_yes_keeps_all(ray_run, tmp_path, capsys, monkeypatch, answer):
    root = ray_run("keep_all")
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    before = tree_state(tmp_path)
    assert main([str(root), *K3, "--prune"]) == 0
    assert "Nothing deleted" in capsys.readouterr().out
    assert tree_state(tmp_path) == before


def test_yes_deletes_and_second_run_has_nothing(ray_run, capsys):
    root = ray_run("keep_all")
    assert main([str(root), *K3, "--prune", "--yes"]) == 0
    capsys.readouterr()
    assert main([str(root), *K3, "--prune", "--yes"]) == 0
    assert "Nothing to delete" in capsys.readouterr().out


def _make_running(root: Path) -> None:
    state = next(root.glob("experiment_state-*.json"))
    data = json.loads(state.read_text())
    item = data["trial_data"][0]
    info = json.loads(item[0])
    info["status"] = "RUNNING"
    item[0] = json.dumps(info)
    state.write_text(json.dumps(data))
    trial = root / info["relative_logdir"]
    now = time.time()
    for c in trial.iterdir():
        if c.name.startswith("checkpoint_"):
            os.utime(c, (now, now))


def test_skips_exit_3_with_reasons_on_stderr(ray_run, capsys):
    root = ray_run("keep_all")
    _make_running(root)
    code = main([str(root), *K3, "--prune", "--yes"])
    cap = capsys.readouterr()
    assert code == 3
    skipped = [line for line in cap.err.splitlines() if line.startswith("ckpt-tui: skipped ")]
    assert len(skipped) == 4 and all("RUNNING" in line and "grace 60 s" in line for line in skipped)
    assert "Deleted 9 checkpoints" in cap.out and "4 skipped" in cap.out
    # With no grace, the rest goes.
    assert main([str(root), *K3, "--prune", "--yes", "--grace", "0"]) == 0


def test_leftovers_listed_and_cleaned(ray_run, tmp_path, capsys, monkeypatch):
    root = ray_run("keep_all")
    trial = sorted(p for p in root.iterdir() if p.name.startswith("trainable_"))[0]
    aside = trial / f"{ASIDE_PREFIX}checkpoint_000000.4000000.1"
    os.rename(trial / "checkpoint_000000", aside)
    assert main([str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["leftovers"] == [str(aside)]
    assert main([str(root), *K3, "--prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 leftover of an interrupted deletion" in out and "Would remove 1 leftover" in out
    assert aside.is_dir()
    monkeypatch.setattr(sys, "stdin", Terminal("y\ny\n"))
    assert main([str(root), *K3, "--prune"]) == 0
    cap = capsys.readouterr()
    assert "Remove 1 leftover" in cap.err and "removed leftover" in cap.out
    assert not aside.exists()
    log = [json.loads(x) for x in (root / ".ckpt-tui" / "deletions.jsonl").read_text().splitlines()]
    assert log[0]["event"] == "leftover-removed"


def test_leftovers_kept_when_declined(ray_run, capsys, monkeypatch):
    root = ray_run("keep_all")
    trial = sorted(p for p in root.iterdir() if p.name.startswith("trainable_"))[0]
    aside = trial / f"{ASIDE_PREFIX}checkpoint_000000.4000000.1"
    os.rename(trial / "checkpoint_000000", aside)
    monkeypatch.setattr(sys, "stdin", Terminal("n\nn\n"))
    assert main([str(root), *K3, "--prune"]) == 0
    assert "Leftovers kept" in capsys.readouterr().out and aside.is_dir()


def test_usage_and_errors(tmp_path, capsys):
    assert main([str(tmp_path), "--yes"]) == 2
    assert main([str(tmp_path), "--dry-run"]) == 2
    assert main([str(tmp_path / "missing"), "--prune", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no such directory" in err


def test_train_v2_prune(ray_run, capsys):
    root = ray_run("train_v2_k2_score_max")
    assert main([str(root), "--num-to-keep", "1", "--prune", "--yes"]) == 0
    snap = json.loads((root / "checkpoint_manager_snapshot.json").read_text())
    assert [r["checkpoint_dir_name"] for r in snap["checkpoint_results"]] == [
        n for n in sorted(os.listdir(root)) if n.startswith("checkpoint_2")
    ]


def test_subprocess_never_imports_textual(ray_run):
    root = ray_run("keep_all")
    code = (
        "import sys; from ckpt_tui.cli import main; "
        f"rc = main([{str(root)!r}, '--num-to-keep', '3', '--prune', '--yes']); "
        "assert 'textual' not in sys.modules, 'textual imported'; sys.exit(rc)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
    )
    assert res.returncode == 0, res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", str(root), "--num-to-keep", "1", "--prune"],
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert res.returncode == 2 and "needs --yes" in res.stderr
