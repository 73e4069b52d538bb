"""A storage root of many experiments: discovery, ``--json`` and ``--prune`` on the root, and a
directory that holds no run yet (exit 1 headless)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ckpt_tui.cli import main
from ckpt_tui.core.storage_root import find_experiments
from tests.root_fixtures import ROOT_EXPERIMENTS, copy_run, make_root


class Terminal(io.StringIO):
    def isatty(self):
        return True


def cli_json(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def ckpt_dirs(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("checkpoint_*") if p.is_dir()}


def test_find_experiments_three_levels_deep_runs_not_searched_further(tmp_path):
    root = make_root(tmp_path)
    found = find_experiments(str(root))
    assert [e.rel for e in found] == sorted(ROOT_EXPERIMENTS)
    layouts = {e.rel: e.layout for e in found}
    assert layouts["keep_all"] == "tune" and layouts["train/v2/runs/train_v2_k2_score_max"] == "train-v2"
    assert all(e.path == os.path.realpath(root / e.rel) for e in found)
    # A run is not searched further: no trial dir is ever an experiment of its own.
    assert not any("trainable_" in e.rel or "fn_resumable" in e.rel for e in found)


def test_find_experiments_depth_limit_and_symlink_loop(tmp_path):
    root = make_root(tmp_path)
    (root / "a" / "b" / "c" / "d").mkdir(parents=True)
    os.rename(root / "keep_all", root / "a" / "b" / "c" / "d" / "keep_all")  # five levels deep
    os.symlink(root, root / "a" / "loop")
    rels = [e.rel for e in find_experiments(str(root))]
    assert "a/b/c/d/keep_all" not in rels  # below the search depth
    assert rels == sorted(set(ROOT_EXPERIMENTS) - {"keep_all"})  # the link loop ended
    rels = [e.rel for e in find_experiments(str(root), max_depth=5)]
    assert "a/b/c/d/keep_all" in rels


def test_root_json_is_each_experiment_json_side_by_side(tmp_path, capsys):
    root = make_root(tmp_path)
    doc = cli_json(capsys, str(root))
    assert doc["schema"] == 1 and doc["layout"] == "storage-root" and doc["root"] == os.path.realpath(root)
    assert [e["experiment"] for e in doc["experiments"]] == sorted(ROOT_EXPERIMENTS)
    assert doc["errors"] == []
    total = 0
    for part in doc["experiments"]:
        rel = part["experiment"]
        alone = cli_json(capsys, str(root / rel))
        mine = [{k: v for k, v in c.items() if k != "experiment"} for c in doc["checkpoints"] if c["experiment"] == rel]
        assert mine == alone.pop("checkpoints")
        assert {k: v for k, v in part.items() if k != "experiment"} == alone
        total += alone["summary"]["checkpoints"]
    assert all(set(c) >= {"experiment", "trial", "path", "keep"} for c in doc["checkpoints"])
    assert len(doc["checkpoints"]) == total == doc["summary"]["checkpoints"]
    assert doc["summary"]["experiments"] == len(ROOT_EXPERIMENTS)
    # Each experiment under its own recorded config.
    configs = {e["experiment"]: e["config"] for e in doc["experiments"]}
    assert configs["sweeps/2026/k3_loss_min"]["num_to_keep"] == 3
    assert configs["keep_all"]["num_to_keep"] is None


def test_root_json_flags_apply_to_every_experiment(tmp_path, capsys):
    root = make_root(tmp_path)
    doc = cli_json(capsys, str(root), "--num-to-keep", "1")
    assert {e["config"]["num_to_keep"] for e in doc["experiments"]} == {1}
    # An attribute left to each experiment: exp_b's own loss/min stays, keep_all has none.
    attrs = {e["experiment"]: e["config"]["checkpoint_score_attribute"] for e in doc["experiments"]}
    assert attrs["s8_shared/exp_b"] == "loss" and attrs["keep_all"] is None
    for part in doc["experiments"]:
        alone = cli_json(capsys, str(root / part["experiment"]), "--num-to-keep", "1")
        alone.pop("checkpoints")
        assert {k: v for k, v in part.items() if k != "experiment"} == alone
    assert doc["summary"]["delete"] == sum(e["summary"]["delete"] for e in doc["experiments"]) > 0


@pytest.mark.parametrize("mode", [["--json"], ["--prune", "--dry-run", "--num-to-keep", "1"]])
def test_root_headless_modes_without_textual(tmp_path, mode):
    root = make_root(tmp_path)
    code = (
        "import sys; from ckpt_tui.cli import main; rc = main(sys.argv[1:]); "
        "print('RC', rc, 'TEXTUAL', any(m.startswith('textual') for m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(root), *mode], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "RC 0 TEXTUAL False" in proc.stderr
    if mode == ["--json"]:
        assert json.loads(proc.stdout)["summary"]["experiments"] == len(ROOT_EXPERIMENTS)
    else:
        assert "Dry run: nothing was touched" in proc.stdout


def test_root_prune_dry_run_touches_nothing(tmp_path, capsys):
    root = make_root(tmp_path)
    before = ckpt_dirs(root)
    assert main([str(root), "--num-to-keep", "1", "--prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert ckpt_dirs(root) == before
    assert "Storage root" in out and "5 experiments" in out and "Dry run: nothing was touched" in out
    assert out.count("would delete ") > 0


def test_root_prune_one_confirmation_per_experiment_counts(tmp_path, capsys, monkeypatch):
    root = make_root(tmp_path)
    before = ckpt_dirs(root)
    expected = cli_json(capsys, str(root), "--num-to-keep", "1")
    doomed = {os.path.relpath(c["path"], os.path.realpath(root)) for c in expected["checkpoints"] if not c["keep"]}
    per_exp = {e["experiment"]: e["summary"]["delete"] for e in expected["experiments"] if e["summary"]["delete"]}
    assert len(per_exp) >= 2 and doomed
    stdin = Terminal("y\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main([str(root), "--num-to-keep", "1", "--prune"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("[y/N]") == 1  # one question for the whole root
    assert f"Delete {len(doomed)} checkpoints" in captured.err and f"in {len(per_exp)} experiments?" in captured.err
    for rel, n in per_exp.items():
        assert f"{rel}: {n} checkpoint" in captured.out
    assert ckpt_dirs(root) == before - doomed
    for rel in per_exp:  # each experiment keeps its own deletion log
        assert (root / rel / ".ckpt-tui" / "deletions.jsonl").exists()
    # Now nothing is left to delete under the same flags.
    assert cli_json(capsys, str(root), "--num-to-keep", "1")["summary"]["delete"] == 0


def test_root_prune_answer_no_deletes_nothing(tmp_path, capsys, monkeypatch):
    root = make_root(tmp_path)
    before = ckpt_dirs(root)
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    assert main([str(root), "--num-to-keep", "1", "--prune"]) == 0
    assert "Nothing deleted." in capsys.readouterr().out
    assert ckpt_dirs(root) == before


def test_root_prune_without_flags_uses_each_experiments_own_config(tmp_path, capsys):
    root = make_root(tmp_path)
    before = ckpt_dirs(root)
    assert main([str(root), "--prune", "--yes"]) == 0
    out = capsys.readouterr().out
    # Every run here was already pruned by Ray under its own config (or keeps all).
    assert "Nothing to delete under these configs." in out
    assert ckpt_dirs(root) == before


@pytest.mark.parametrize("mode", ["--json", "--prune"])
def test_empty_dir_keeps_exit_1_with_the_message(tmp_path, mode):
    empty = tmp_path / "experiment"
    empty.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", str(empty), mode, "--yes"]
        if mode == "--prune"
        else [sys.executable, "-m", "ckpt_tui", str(empty), mode],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "is not a Ray run" in proc.stderr and "Traceback" not in proc.stderr


def test_root_json_reports_an_experiment_gone_since_it_was_found(tmp_path, capsys):
    import shutil

    from ckpt_tui.cli import build_parser
    from ckpt_tui.root_cli import root_json_mode

    root = make_root(tmp_path)
    found = find_experiments(str(root))
    shutil.rmtree(root / "keep_all")  # vanished between the search and the read
    args = build_parser().parse_args([str(root), "--json"])
    assert root_json_mode(args, found) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [e["experiment"] for e in doc["errors"]] == ["keep_all"]
    assert "no such directory" in doc["errors"][0]["error"]
    assert doc["summary"]["experiments"] == len(ROOT_EXPERIMENTS) - 1
    assert not any(c["experiment"] == "keep_all" for c in doc["checkpoints"])


def test_root_prune_keeps_the_single_run_safety_rules(tmp_path, capsys):
    """The root's --prune goes through what --prune on one run does: names from the runs are
    escaped, a link at an experiment's .ckpt-tui refuses before anything is deleted, and
    --delete-untracked reaches every experiment's plan."""
    root = make_root(tmp_path)
    trial = next((root / "keep_all").glob("trainable_*"))
    evil = trial.parent / (trial.name + "\x1b]0;pwned\x07")
    trial.rename(evil)
    before = ckpt_dirs(root)
    assert main([str(root), "--num-to-keep", "1", "--prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b]0;pwned\\x07" in out
    assert ckpt_dirs(root) == before

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "keep_all" / ".ckpt-tui").symlink_to(outside)
    code = main([str(root), "--num-to-keep", "1", "--prune", "--yes"])
    err = capsys.readouterr().err
    assert code == 1 and "keep_all" in err and ".ckpt-tui" in err
    assert ckpt_dirs(root) == before and list(outside.iterdir()) == []


def test_root_json_and_prune_pass_delete_untracked(tmp_path, capsys):
    root = make_root(tmp_path)
    untracked = copy_run(root, "round2/s5b_v2_nan_resume")
    plain = cli_json(capsys, str(root))
    opted = cli_json(capsys, str(root), "--delete-untracked")
    rows = [r for r in opted["checkpoints"] if r["experiment"] == untracked.name and r["tracked"] is False]
    assert rows, "s5b has checkpoints Ray does not track"
    assert any(not r["keep"] for r in rows)
    assert all(r["keep"] for r in plain["checkpoints"] if r["experiment"] == untracked.name and r["tracked"] is False)
