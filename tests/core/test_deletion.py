"""Safe deletion: prepare/execute on real Ray runs, every re-check, Train v2 snapshot, leftovers.

The helpers at the top (tree_state, bytes_lost, ...) are shared with test_faults.py and
test_prune_cli.py: every test that deletes asserts that nothing outside the plan lost a byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from ckpt_tui.core import deletion
from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.deletion import (
    ASIDE_PREFIX,
    CHANGED,
    clean_leftovers,
    execute,
    find_leftovers,
    fingerprint,
    prepare,
    read_tune_state,
    remove_tree,
)
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan
from tests.conftest import RAY_RUNS, write_tune_run, write_v2_run

K3 = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")


# ---------------------------------------------------------------------------------------------
# Shared helpers


def tree_state(base) -> dict:
    """Every file and link under ``base`` (links not followed): bytes path -> (kind, digest, size)."""
    base_b = os.fsencode(str(base))
    out = {}
    for dirpath, dirnames, filenames in os.walk(base_b, followlinks=False):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if os.path.islink(p):
                out[p] = ("l", os.readlink(p), 0)
            elif name in filenames:
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                out[p] = ("f", h.hexdigest(), st.st_size)
    return out


def bytes_lost(before: dict, after: dict, planned, appended: bool = False) -> int:
    """Bytes of files outside the planned paths that are gone or changed (links count 1).

    ``appended``: a file that only grew (its old bytes are still its prefix, as when a writer
    appends to result.json) lost nothing."""
    planned_b = [os.fsencode(str(p)) for p in planned]
    lost = 0
    for p, value in before.items():
        if any(p == q or p.startswith(q + b"/") for q in planned_b):
            continue
        now = after.get(p)
        if now == value:
            continue
        if appended and now is not None and now[0] == "f" == value[0] and now[2] >= value[2]:
            with open(p, "rb") as f:
                if hashlib.sha256(f.read(value[2])).hexdigest() == value[1]:
                    continue
        lost += max(value[2], 1)
    return lost


def planned_paths(request) -> list[str]:
    return [i.path for i in request.items]


FAULT_TABLE = os.environ.get("CKPT_TUI_FAULT_TABLE")


def record(scenario: str, happened: str, lost: int) -> None:
    """With CKPT_TUI_FAULT_TABLE set, append a row for the closing-note table."""
    if FAULT_TABLE:
        with open(FAULT_TABLE, "a", encoding="utf-8") as f:
            f.write(json.dumps({"scenario": scenario, "happened": happened, "lost": lost}) + "\n")


def age(path, seconds: float = 3600) -> None:
    """Make everything under ``path`` look ``seconds`` old (so the grace period is no factor)."""
    t = time.time() - seconds
    for dirpath, dirnames, filenames in os.walk(path, topdown=False, followlinks=False):
        for n in filenames + dirnames:
            os.utime(os.path.join(dirpath, n), (t, t), follow_symlinks=False)
    os.utime(path, (t, t))


def names(path) -> list[str]:
    return sorted(n for n in os.listdir(path) if n.startswith("checkpoint_"))


# ---------------------------------------------------------------------------------------------
# The real runs


def test_replays_k3_on_disk_exactly(ray_run, tmp_path):
    root = ray_run("keep_all")
    before = tree_state(tmp_path)
    p = plan(read_run(str(root)), K3)
    request = prepare(p)
    assert len(request.items) == 13 and request.total_bytes == p.reclaim_bytes
    assert request.trials == sorted(request.trials) and len(request.trials) == 3
    outcomes = list(execute(request))
    assert [o.deleted for o in outcomes] == [True] * 13, [o.reason for o in outcomes]
    assert sum(o.bytes for o in outcomes) == request.total_bytes
    assert all(o.reason.startswith("rank ") for o in outcomes)
    # What is left is exactly what Ray itself left with that config.
    for trial in sorted(os.listdir(root)):
        if trial.startswith("trainable_"):
            twin = next(
                d
                for d in os.listdir(RAY_RUNS / "k3_loss_min")
                if d.startswith("trainable_") and d.split("_")[2] == trial.split("_")[2]
            )
            assert names(root / trial) == names(RAY_RUNS / "k3_loss_min" / twin)
    assert bytes_lost(before, tree_state(tmp_path), planned_paths(request)) == 0
    log = (root / ".ckpt-tui" / "deletions.jsonl").read_text().splitlines()
    assert len(log) == 13
    rec = json.loads(log[0])
    assert rec["event"] == "deleted" and rec["path"] == outcomes[0].path and rec["bytes"] == outcomes[0].bytes
    assert rec["config"]["num_to_keep"] == 3 and rec["trial"] == outcomes[0].trial_id and rec["reason"]
    assert "when" in rec
    # The log dir is invisible to the readers; a second pass has nothing left to do.
    run = read_run(str(root))
    assert not run.leftovers and plan(run, K3).delete_count == 0


def test_prepare_refuses_what_the_plan_keeps(ray_run):
    p = plan(read_run(str(ray_run("keep_all"))), K3)
    kept = next(c for c, d in p.decisions.items() if d.keep)
    with pytest.raises(ValueError, match="does not mark it"):
        prepare(p, [kept])
    sub = prepare(p, p.to_delete()[:2], grace_seconds=5)
    assert len(sub.items) == 2 and sub.grace_seconds == 5


def test_execute_is_lazy_and_stops_when_asked(ray_run):
    root = ray_run("keep_all")
    request = prepare(plan(read_run(str(root)), K3))
    gen = execute(request)
    first = next(gen)
    gen.close()
    assert first.deleted
    assert sum(os.path.exists(i.path) for i in request.items) == len(request.items) - 1


def test_fresh_plan_keeps_it_now(ray_run, tmp_path):
    """The trial's history changed after confirming: the fresh plan keeps the item, so it stays."""
    root = ray_run("keep_all")
    p = plan(read_run(str(root)), K3)
    request = prepare(p)
    item = request.items[0]
    result = Path(os.path.dirname(item.path)) / "result.json"
    lines = result.read_text().splitlines()
    for i, line in enumerate(lines):
        if f'"checkpoint_dir_name": "{item.name}"' in line:
            obj = json.loads(line)
            obj["loss"] = -1.0  # now the best
            lines[i] = json.dumps(obj)
    result.write_text("\n".join(lines) + "\n")
    before = tree_state(tmp_path)
    out = {o.path: o for o in execute(request)}
    assert not out[item.path].deleted and "keeps it now" in out[item.path].reason
    assert os.path.isdir(item.path)
    assert bytes_lost(before, tree_state(tmp_path), [i.path for i in request.items if i is not item]) == 0


def test_never_the_latest(tmp_path):
    """The item became the latest (later reports vanished from result.json): kept."""
    root = write_tune_run(tmp_path / "run", [[{"loss": 1.0}, {"loss": 3.0}, {"loss": 2.0}]])
    age(root)
    cfg = CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="loss", checkpoint_score_order="min")
    request = prepare(plan(read_run(str(root)), cfg))
    assert sorted(i.name for i in request.items) == ["checkpoint_000001"]
    trial = next(root.iterdir())
    lines = (trial / "result.json").read_text().splitlines()
    (trial / "result.json").write_text("\n".join(lines[:2]) + "\n")
    [o] = execute(request)
    assert not o.deleted and ("latest" in o.reason)
    assert os.path.isdir(o.path)


def test_never_tune_restore_point(ray_run, monkeypatch):
    root = ray_run("keep_all")
    state = next(root.glob("experiment_state-*.json"))
    statuses, points = read_tune_state(str(state))
    assert set(points.values()) == {"checkpoint_000007"} and len(points) == 3
    assert set(statuses.values()) == {"TERMINATED"}
    request = prepare(plan(read_run(str(root)), K3))
    victim = request.items[0]
    monkeypatch.setattr(deletion.checks, "read_tune_state", lambda path: (statuses, {victim.trial_id: victim.name}))
    out = list(execute(request))
    assert not out[0].deleted and "restore" in out[0].reason
    assert all(o.deleted for o in out[1:])


def _set_status(root: Path, status: str) -> None:
    _set_status_in(next(root.glob("experiment_state-*.json")), status)


def _set_status_in(state: Path, status: str) -> None:
    data = json.loads(state.read_text())
    for item in data["trial_data"]:
        info = json.loads(item[0])
        info["status"] = status
        item[0] = json.dumps(info)
    state.write_text(json.dumps(data))


def test_running_trial_grace(ray_run):
    root = ray_run("keep_all")
    _set_status(root, "RUNNING")
    p = plan(read_run(str(root)), K3)
    young = prepare(p, grace_seconds=1e9)  # every checkpoint is younger than that
    out = list(execute(young))
    assert len(out) == 13 and not any(o.deleted for o in out)
    assert all("RUNNING" in o.reason for o in out)
    old_enough = prepare(plan(read_run(str(root)), K3), grace_seconds=0)
    assert all(o.deleted for o in execute(old_enough))


def test_a_trial_is_read_once_for_all_its_deletions_while_nothing_changes(ray_run, monkeypatch):
    """13 deletions in 3 trials: 3 fresh reads (a big sweep deletes ~96 per trial)."""
    from ckpt_tui.core.readers import tune

    root = ray_run("keep_all")
    request = prepare(plan(read_run(str(root)), K3))
    reads: list[str] = []
    original = tune.read_trial
    monkeypatch.setattr(tune, "read_trial", lambda run, path, tid: reads.append(tid) or original(run, path, tid))
    out = list(execute(request))
    assert len(out) == 13 and all(o.deleted for o in out)
    assert sorted(reads) == sorted({i.trial_id for i in request.items})


def test_a_report_appended_between_two_deletions_of_a_trial_is_seen(ray_run):
    """The fresh read is reused only while result.json is unchanged: the second item of a
    trial, made the best by a rewrite after the first was deleted, is kept."""
    root = ray_run("keep_all")
    request = prepare(plan(read_run(str(root)), K3))
    first = request.items[0]
    second = next(i for i in request.items[1:] if i.trial_id == first.trial_id)
    result = Path(os.path.dirname(first.path)) / "result.json"
    outcomes = {}
    for outcome in execute(request):
        outcomes[outcome.path] = outcome
        if outcome.path == first.path:
            lines = result.read_text().splitlines()
            lines = [
                json.dumps({**json.loads(line), "loss": -1.0})
                if f'"checkpoint_dir_name": "{second.name}"' in line
                else line
                for line in lines
            ]
            result.write_text("\n".join(lines) + "\n")
    assert outcomes[first.path].deleted
    assert not outcomes[second.path].deleted and "keeps it now" in outcomes[second.path].reason
    assert os.path.isdir(second.path)


@pytest.mark.parametrize("how", ["rewritten", "new file"])
def test_experiment_state_changed_between_two_deletions_is_seen(ray_run, how):
    """Tune marks the trials RUNNING after the first deletion, by rewriting its state file or
    by writing a newer one: every later item is young for a RUNNING trial, and kept."""
    root = ray_run("keep_all")
    request = prepare(plan(read_run(str(root)), K3), grace_seconds=1e9)
    _set_status(root, "TERMINATED")  # as it was; the change comes after the first deletion
    outcomes = []
    for outcome in execute(request):
        outcomes.append(outcome)
        if len(outcomes) == 1:
            if how == "new file":
                state = next(root.glob("experiment_state-*.json"))
                newer = root / "experiment_state-2099-01-01_00-00-00.json"
                newer.write_text(state.read_text())
                _set_status_in(newer, "RUNNING")
            else:
                _set_status(root, "RUNNING")
    assert outcomes[0].deleted
    assert outcomes[1:] and all(not o.deleted and "RUNNING" in o.reason for o in outcomes[1:])


def test_train_v2_snapshot_rewritten_with_backup(ray_run, tmp_path):
    root = ray_run("train_v2_k2_score_max")
    snap = root / "checkpoint_manager_snapshot.json"
    original = snap.read_bytes()
    before = tree_state(tmp_path)
    cfg = CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score")
    request = prepare(plan(read_run(str(root)), cfg))
    assert len(request.items) == 1  # score 3.0 kept (top 1), 0.5 kept (latest), 2.0 goes
    [o] = execute(request)
    assert o.deleted, o.reason
    data = json.loads(snap.read_text())
    listed = [r["checkpoint_dir_name"] for r in data["checkpoint_results"]]
    assert o.name not in listed and len(listed) == 2
    assert data["checkpoint_report_indices"] == [3, 0]
    assert data["latest_checkpoint_result"]["checkpoint_dir_name"] in listed
    assert all((root / n).is_dir() for n in listed)  # every listed checkpoint is on disk
    backups = list((root / ".ckpt-tui").glob("checkpoint_manager_snapshot.json.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == original
    run = read_run(str(root))
    assert not any("refuse" in w for w in run.all_warnings())
    planned = [*planned_paths(request), str(snap)]
    assert bytes_lost(before, tree_state(tmp_path), planned) == 0


def test_train_v2_active_run_is_refused(tmp_path):
    root = write_v2_run(tmp_path / "run", [3.0, 1.0, 2.0, 0.5])  # written just now: looks active
    snap = root / "checkpoint_manager_snapshot.json"
    original = snap.read_bytes()
    request = prepare(
        plan(read_run(str(root)), CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score")), grace_seconds=60
    )
    out = list(execute(request))
    assert out and not any(o.deleted for o in out)
    assert all("looks active" in o.reason and "snapshot" in o.reason for o in out)
    assert snap.read_bytes() == original
    assert all(os.path.isdir(i.path) for i in request.items)


def test_train_v2_rename_failure_restores_snapshot(tmp_path, monkeypatch):
    root = write_v2_run(tmp_path / "run", [3.0, 1.0, 2.0, 0.5])
    age(root)
    snap = root / "checkpoint_manager_snapshot.json"
    original = snap.read_bytes()
    request = prepare(plan(read_run(str(root)), CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score")))
    real_rename = os.rename

    def rename(src, dst, *a, **kw):
        if os.path.basename(os.fsdecode(dst)).startswith(ASIDE_PREFIX):
            raise PermissionError(13, "Permission denied")
        return real_rename(src, dst, *a, **kw)

    monkeypatch.setattr(os, "rename", rename)
    out = list(execute(request))
    assert out and all(not o.deleted and "left whole" in o.reason for o in out)
    assert snap.read_bytes() == original


def test_remove_tree_never_follows_links(tmp_path):
    outside = tmp_path / "outside"
    (outside / "d").mkdir(parents=True)
    (outside / "d" / "keep.bin").write_bytes(b"k" * 100)
    (outside / "f.bin").write_bytes(b"f" * 10)
    victim = tmp_path / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "sub" / "a").write_bytes(b"a" * 7)
    os.symlink(outside / "d", victim / "dirlink")
    os.symlink(outside / "f.bin", victim / "sub" / "filelink")
    os.symlink(tmp_path / "nowhere", victim / "dangling")
    before = tree_state(outside)
    assert remove_tree(str(victim)) == 7
    assert not os.path.lexists(victim)
    assert tree_state(outside) == before


def test_fingerprint_sees_every_change(tmp_path):
    d = tmp_path / "c"
    (d / "s").mkdir(parents=True)
    (d / "s" / "x").write_bytes(b"1")
    fp = fingerprint(str(d))
    assert fp.same_tree(fingerprint(str(d)))
    (d / "s" / "x").write_bytes(b"2")
    assert not fp.same_tree(fingerprint(str(d)))
    assert "rewritten" in fp.difference(fingerprint(str(d)))
    assert fingerprint(str(tmp_path / "missing")).error == "no longer on disk"


def test_leftovers_found_and_cleaned(ray_run, tmp_path):
    root = ray_run("keep_all")
    trial = next(p for p in root.iterdir() if p.name.startswith("trainable_"))
    aside = trial / f"{ASIDE_PREFIX}checkpoint_000002.999999.123"
    os.rename(trial / "checkpoint_000002", aside)
    os.symlink(tmp_path / "elsewhere", trial / f"{ASIDE_PREFIX}checkpoint_000003.999999.124")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "precious").write_text("keep me")
    run = read_run(str(root))
    found = find_leftovers(run)
    assert len(found) == 2 and str(aside) in found
    assert all(c.name != aside.name for c in run.checkpoints())
    stranger = tmp_path / "not-an-aside"
    stranger.mkdir()
    out = clean_leftovers([*found, str(stranger)], root=str(root))
    assert [o.deleted for o in out] == [True, True, False]
    assert "not a ckpt-tui leftover" in out[2].reason and stranger.is_dir()
    assert (tmp_path / "elsewhere" / "precious").read_text() == "keep me"
    assert find_leftovers(read_run(str(root))) == []


def test_leftover_of_a_live_process_is_left(ray_run):
    root = ray_run("keep_all")
    trial = next(p for p in root.iterdir() if p.name.startswith("trainable_"))
    parent_pid = os.getppid()  # alive, and not us
    aside = trial / f"{ASIDE_PREFIX}checkpoint_000002.{parent_pid}.{time.time_ns()}"
    os.rename(trial / "checkpoint_000002", aside)
    [o] = clean_leftovers(find_leftovers(read_run(str(root))))
    assert not o.deleted and "may still be deleting" in o.reason and aside.is_dir()


def test_one_failure_never_stops_the_rest(ray_run, monkeypatch, tmp_path):
    root = ray_run("keep_all")
    request = prepare(plan(read_run(str(root)), K3))
    bad = request.items[3].path
    real = deletion._delete_one

    def flaky(ctx, item):
        if item.path == bad:
            raise RuntimeError("boom")
        return real(ctx, item)

    monkeypatch.setattr(deletion.flow, "_delete_one", flaky)
    out = list(execute(request))
    assert len(out) == 13 and sum(o.deleted for o in out) == 12
    assert "boom" in next(o for o in out if o.path == bad).reason


def test_changed_reason_wording(ray_run):
    root = ray_run("keep_all")
    request = prepare(plan(read_run(str(root)), K3))
    Path(request.items[0].path, "extra.bin").write_bytes(b"new")
    out = list(execute(request))
    assert out[0].reason.startswith(CHANGED) and "added" in out[0].reason
    assert all(o.deleted for o in out[1:])
