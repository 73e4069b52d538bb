"""Runs Ray 2.60 wrote itself with its own pruning on (tests/ray_runs/round2, see its README and
cases.json): what ckpt-tui keeps under each run's config is exactly what Ray left on disk."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest

from ckpt_tui.cli import main
from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan
from tests.conftest import RAY_RUNS

ROUND2 = RAY_RUNS / "round2"
CASES = json.loads((ROUND2 / "cases.json").read_text())


def run_json(*args: str) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main([*args, "--json"])
    assert code == 0
    return json.loads(out.getvalue())


def kept(doc: dict) -> dict:
    found: dict = {}
    for c in doc["checkpoints"]:
        if c["keep"]:
            found.setdefault(c["trial"], []).append(c["name"])
    return {t: sorted(names) for t, names in found.items()}


def on_disk(doc: dict) -> dict:
    found: dict = {}
    for c in doc["checkpoints"]:
        found.setdefault(c["trial"], []).append(c["name"])
    return {t: sorted(names) for t, names in found.items()}


@pytest.mark.parametrize("case", CASES, ids=[c["run"] for c in CASES])
def test_kept_under_the_runs_config_is_what_ray_left(case, ray_run):
    root = ray_run(f"round2/{case['run']}")
    doc = run_json(
        str(root),
        "--num-to-keep",
        str(case["num_to_keep"] or "none"),
        "--score-attribute",
        case["attr"] or "none",
        "--score-order",
        case["order"],
    )
    assert kept(doc) == {t: sorted(names) for t, names in case["kept"].items()}


@pytest.mark.parametrize("case", CASES, ids=[c["run"] for c in CASES])
def test_no_flags_on_a_run_ray_pruned_proposes_no_deletion(case, ray_run):
    root = ray_run(f"round2/{case['run']}")
    doc = run_json(str(root))
    assert doc["summary"]["delete"] == 0
    assert kept(doc) == on_disk(doc)
    if doc["layout"] == "tune":  # the run's own CheckpointConfig, read from its experiment state
        assert doc["config"]["num_to_keep"] == case["num_to_keep"]
        assert doc["config"]["checkpoint_score_attribute"] == case["attr"]


def by_name(doc: dict, trial_part: str) -> dict:
    return {c["name"]: c for c in doc["checkpoints"] if trial_part in c["trial"]}


def test_restored_run_counts_the_later_row_of_a_redone_step(ray_run):
    """s3_restore: stopped twice and restored twice (three experiment_state files). Step 3 was
    redone after the first restore: checkpoint_000003 appears twice in result.json and only the
    later row (acc 0.987) is the one Ray registered; the earlier (acc 0.116) was pending when the
    run stopped. Under the run's config (keep 3 by acc max) Ray kept 2, 3 and 9, and checkpoint_000002
    is what the last restore resumed from after the first stop."""
    root = ray_run("round2/s3_restore")
    assert len(list(root.glob("experiment_state-*.json"))) == 3
    doc = run_json(str(root))
    t0 = by_name(doc, "_00000_")
    assert t0["checkpoint_000003"]["score"] == 0.987 and t0["checkpoint_000003"]["rank"] == 1
    assert t0["checkpoint_000003"]["tracked"] is True
    assert sorted(n for n, c in t0.items() if c["keep"]) == [
        "checkpoint_000002",
        "checkpoint_000003",
        "checkpoint_000009",
    ]
    # 10 registrations: steps 0-9 once each; the two rows of a redone step that Ray never
    # registered (steps 3 and 7 before a restore) are not registrations
    assert {c["of"] for c in t0.values()} == {10}
    run = read_run(str(root))
    trial = next(t for t in run.trials.values() if "_00000_" in t.id)
    assert [(r.checkpoint_name, r.metrics["acc"]) for r in trial.unregistered] == [
        ("checkpoint_000003", 0.116),
        ("checkpoint_000007", 0.858),
    ]


def test_interrupted_run_pending_save_is_untracked_and_kept(ray_run):
    """s3b_interrupted: a signal stopped the run while checkpoint_000004's save was pending. The
    experiment state still says RUNNING, but it was last written long ago: the run is stopped,
    Ray never registered checkpoint_000004, and never deletes either checkpoint."""
    root = ray_run("round2/s3b_interrupted")
    doc = run_json(str(root))
    assert doc["summary"]["delete"] == 0
    assert doc["summary"]["untracked"] == 2 and doc["summary"]["untracked_bytes"] > 0
    for trial_part in ("_00000_", "_00001_"):
        cks = by_name(doc, trial_part)
        assert cks["checkpoint_000003"]["tracked"] is True and cks["checkpoint_000003"]["keep"]
        assert cks["checkpoint_000003"]["restore_point_of"] == [cks["checkpoint_000003"]["trial"]]
        assert cks["checkpoint_000004"]["tracked"] is False and cks["checkpoint_000004"]["keep"]
        assert cks["checkpoint_000004"]["reason"].startswith("not tracked by Ray: Ray will never delete it")
    # The row Ray logged but never registered (trial 1) still shows its iteration
    assert by_name(doc, "_00001_")["checkpoint_000004"]["iteration"] == 5
    # Choosing to delete untracked checkpoints still spares the newest of each trial
    doc = run_json(str(root), "--delete-untracked")
    assert doc["summary"]["delete"] == 0 and doc["delete_untracked"] is True
    assert "the newest checkpoint of its trial" in by_name(doc, "_00000_")["checkpoint_000004"]["reason"]


def test_pbt_exploit_leaves_an_unregistered_checkpoint_untracked(ray_run):
    """s4b_pbt_noreuse: trial 1 reported checkpoint_000007, then an exploit paused it without
    registering it (its latest became trial 0's checkpoint_000008, since deleted by trial 0's
    manager). Ray kept 4, 6 and 7: counting 7 as registered would delete 4."""
    root = ray_run("round2/s4b_pbt_noreuse")
    doc = run_json(str(root))
    t1 = by_name(doc, "_00001_")
    assert t1["checkpoint_000007"]["tracked"] is False
    assert [n for n, c in sorted(t1.items()) if c["tracked"]] == ["checkpoint_000004", "checkpoint_000006"]
    assert all(c["keep"] for c in t1.values())


def test_class_trainable_registrations_come_from_the_experiment_state(ray_run):
    """s9_class_freq: a class Trainable's result.json names no checkpoint; Ray's manager does."""
    root = ray_run("round2/s9_class_freq")
    doc = run_json(str(root), "--num-to-keep", "1")
    t0 = by_name(doc, "_00000_")
    assert all(c["tracked"] for c in t0.values())
    assert t0["checkpoint_000006"]["keep"] and t0["checkpoint_000006"]["score"] == 9.83
    assert not t0["checkpoint_000004"]["keep"]  # 9.15 < 9.83, and not the latest


def test_train_v2_custom_names_are_checkpoints(ray_run):
    root = ray_run("round2/s10_v2_custom_names")
    doc = run_json(str(root))
    assert sorted(c["name"] for c in doc["checkpoints"]) == ["epoch_001", "epoch_005", "epoch_006"]
    assert not any("missing from disk" in w for w in doc["warnings"])
    doc = run_json(str(root), "--num-to-keep", "1", "--score-attribute", "loss", "--score-order", "min")
    assert sorted(c["name"] for c in doc["checkpoints"] if not c["keep"]) == ["epoch_005"]


def test_train_v2_nulls_rank_as_nan_with_warnings(ray_run):
    root = ray_run("round2/s5c_v2_nan_keepall")
    run = read_run(str(root))
    p = plan(run, CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="loss", checkpoint_score_order="min"))
    assert not p.failing_trials
    assert any("cannot tell them apart" in w for w in p.warnings)
    assert any("Ray 2.60 cannot resume this run" in w for w in p.warnings)
    nulls = [c for c in run.checkpoints() if c.report.metrics.get("loss", 0) is None]
    assert len(nulls) == 3
    ranks = sorted(p.decisions[c].rank for c in nulls)
    assert ranks == [7, 8, 9]  # below everything
    assert all("null in the snapshot" in p.reason(c) for c in nulls)
    # A string score in a Train v2 snapshot is still a failure
    snap = root / "checkpoint_manager_snapshot.json"
    data = json.loads(snap.read_text())
    data["checkpoint_results"][0]["metrics"]["loss"] = "oops"
    snap.write_text(json.dumps(data))
    p = plan(
        read_run(str(root)),
        CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="loss", checkpoint_score_order="min"),
    )
    assert p.failing_trials and p.delete_count == 0


def test_train_v2_second_fit_dirs_are_untracked(ray_run):
    """s5b: the second fit() failed reloading the nulls; its checkpoints are not in the snapshot."""
    root = ray_run("round2/s5b_v2_nan_resume")
    doc = run_json(str(root))
    untracked = sorted(c["name"] for c in doc["checkpoints"] if c["tracked"] is False)
    assert untracked == ["checkpoint_2026-12-01_10-44-52.109498", "checkpoint_2026-12-01_10-44-52.189262"]
    doc = run_json(str(root), "--delete-untracked")
    # the newest dir of the run stays; the other untracked one goes
    assert [c["name"] for c in doc["checkpoints"] if not c["keep"]] == ["checkpoint_2026-12-01_10-44-52.109498"]


def test_pbt_borrowed_checkpoint_is_a_restore_point_of_the_trial_that_borrowed_it(ray_run):
    """tests/ray_runs/pbt_borrowed (made by Ray 2.60 with pbt_borrowed.make.py): PBT exploited
    trial 00002 at its last step, so its latest checkpoint (what Tune restores it from) is trial
    00001's checkpoint_000002; its own checkpoint_000001 was never registered."""
    root = ray_run("pbt_borrowed")
    doc = run_json(str(root), "--num-to-keep", "1")
    donor = by_name(doc, "_00001_")
    borrower = next(t for t in {c["trial"] for c in doc["checkpoints"]} if "_00002_" in t)
    assert donor["checkpoint_000002"]["restore_point_of"] == [borrower, donor["checkpoint_000002"]["trial"]]
    assert donor["checkpoint_000002"]["keep"]
    assert f"restore point of trial {borrower}" in donor["checkpoint_000002"]["reason"]
    assert by_name(doc, "_00002_")["checkpoint_000001"]["tracked"] is False
    # nothing Ray kept is proposed for deletion under the run's own config (keep all)
    assert run_json(str(root))["summary"]["delete"] == 0


def test_a_restore_point_the_replay_would_delete_is_kept(ray_run):
    """The donor's manager may push a borrowed checkpoint out under a smaller num_to_keep; the
    borrowing trial still restores from it, so the plan keeps it and says why."""
    root = ray_run("pbt_borrowed")
    run = read_run(str(root))
    donor = next(t for t in run.trials.values() if "_00001_" in t.id)
    borrowed = next(c for c in donor.checkpoints if c.name == "checkpoint_000000")
    run.restore_points[borrowed.path] = ["other_trial"]
    p = plan(run, CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score"))
    d = p.decisions[borrowed]
    assert d.keep and d.code == "restore"
    assert p.reason(borrowed) == "restore point: Tune restores trial other_trial from it, so it is kept"
    assert borrowed not in p.to_delete()


def test_prune_deletes_untracked_only_with_the_flag(ray_run, capsys):
    root = ray_run("round2/s5b_v2_nan_resume")
    flags = ["--num-to-keep", "2", "--score-attribute", "loss", "--score-order", "min"]
    assert main([str(root), *flags, "--prune", "--yes"]) == 0
    assert len([p for p in root.glob("checkpoint_*") if p.is_dir()]) == 5  # Ray pruned it: nothing to do
    assert main([str(root), *flags, "--prune", "--yes", "--delete-untracked"]) == 0
    assert not (root / "checkpoint_2026-12-01_10-44-52.109498").exists()
    assert (root / "checkpoint_2026-12-01_10-44-52.189262").exists()  # the newest stays
    log = (root / ".ckpt-tui" / "deletions.jsonl").read_text()
    assert "not tracked by Ray" in log


def test_a_live_running_trial_counts_reports_newer_than_the_state_as_pending(ray_run):
    """s3b_interrupted as it looked while it ran: the same files, the state just written. Trial 1's
    report of checkpoint_000004 is then a pending registration (Ray registers it in a moment), which
    pushes checkpoint_000003 out under keep 1; but 000003 is what the state says Tune restores the
    trial from, so it stays. Trial 0's checkpoint_000004 has no report yet: being written."""
    root = ray_run("round2/s3b_interrupted")
    state = next(root.glob("experiment_state-*.json"))
    state.write_bytes(state.read_bytes())  # written just now: the run is live
    doc = run_json(str(root))
    t1 = by_name(doc, "_00001_")
    assert t1["checkpoint_000004"]["tracked"] is True and t1["checkpoint_000004"]["keep"]
    assert t1["checkpoint_000003"]["keep"]
    assert t1["checkpoint_000003"]["reason"].startswith("restore point: Tune restores this trial from it")
    t0 = by_name(doc, "_00000_")
    assert t0["checkpoint_000004"]["tracked"] is None and t0["checkpoint_000004"]["keep"]
    assert doc["summary"]["delete"] == 0
    assert any("counted as registered in order" in w for w in doc["warnings"])


def test_a_new_experiment_state_reclassifies_trials_on_reread(ray_run):
    """The live app re-reads run-level files when the state changes: trials whose registrations
    changed become new Trial objects classified under the new state, without reading them again."""
    from ckpt_tui.core.readers import reread

    root = ray_run("round2/s3b_interrupted")
    run = read_run(str(root))
    tid = next(t for t in run.trials if "_00001_" in t)
    before = run.trials[tid]
    assert next(c for c in before.checkpoints if c.name == "checkpoint_000004").tracked is False
    state = next(root.glob("experiment_state-*.json"))
    state.write_bytes(state.read_bytes())  # the driver wrote its state again: live
    assert tid in reread(run, {""})
    after = run.trials[tid]
    assert after is not before
    assert next(c for c in after.checkpoints if c.name == "checkpoint_000004").tracked is True
    assert next(c for c in before.checkpoints if c.name == "checkpoint_000004").tracked is False  # untouched
