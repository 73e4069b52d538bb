"""Fault tests on the real filesystem. Each one hashes every file under tmp_path before and after
and asserts that nothing outside the plan's to-delete set lost a byte.

Run with CKPT_TUI_FAULT_TABLE=/some/file to collect the closing-note table rows.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.deletion import ASIDE_PREFIX, CHANGED, clean_leftovers, execute, find_leftovers, prepare
from ckpt_tui.core.readers import read_run
from ckpt_tui.core.retention import plan
from tests.conftest import run_cli, write_tune_trial
from tests.core.test_deletion import age, bytes_lost, planned_paths, record, tree_state

REPO = Path(__file__).resolve().parents[2]
K1 = CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="loss", checkpoint_score_order="min")
K1_FLAGS = ["--num-to-keep", "1", "--score-attribute", "loss", "--score-order", "min"]


def make_run(base: Path, trials: int = 2, reports: int = 5, trial_names=None) -> Path:
    """A Tune run whose losses fall report by report: with K1, every checkpoint but the last goes."""
    base.mkdir(parents=True, exist_ok=True)
    names = trial_names or [f"trainable_abcde_{t:05d}_{t}_seed={t}_2026-01-01_00-00-00" for t in range(trials)]
    for name in names:
        write_tune_trial(base / name, [{"loss": float(reports - i)} for i in range(reports)])
    age(base)
    return base


def checkpoint(root: Path, trial: int, index: int) -> Path:
    trial_dir = sorted(p for p in root.iterdir() if p.name.startswith("trainable_"))[trial]
    return trial_dir / f"checkpoint_{index:06d}"


# ---------------------------------------------------------------------------------------------


def test_symlinked_checkpoint_is_unlinked_not_followed(tmp_path):
    root = make_run(tmp_path / "run")
    outside = tmp_path / "outside" / "real_ckpt"
    outside.mkdir(parents=True)
    (outside / "weights.bin").write_bytes(os.urandom(4096))
    link = checkpoint(root, 0, 1)
    shutil.rmtree(link)
    os.symlink(outside, link)
    before = tree_state(tmp_path)
    request = prepare(plan(read_run(str(root)), K1))
    item = next(i for i in request.items if i.path == str(link))
    assert item.is_symlink and item.bytes == 0
    out = {o.path: o for o in execute(request)}
    assert out[str(link)].deleted and out[str(link)].bytes == 0
    assert not os.path.lexists(link) and (outside / "weights.bin").stat().st_size == 4096
    lost = bytes_lost(before, tree_state(tmp_path), planned_paths(request))
    assert lost == 0
    record("checkpoint dir is a symlink to a dir outside the run", "link unlinked, target dir untouched", lost)


def test_links_inside_a_checkpoint_are_unlinked_targets_kept(tmp_path):
    root = make_run(tmp_path / "run")
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "file.bin").write_bytes(b"o" * 1000)
    (outside / "dir" / "inner.bin").write_bytes(b"i" * 500)
    victim = checkpoint(root, 1, 0)
    os.symlink(outside / "file.bin", victim / "to_file")
    os.symlink(outside / "dir", victim / "to_dir")
    os.symlink(root, victim / "to_run_root")  # a loop back into the run
    age(root)
    before = tree_state(tmp_path)
    request = prepare(plan(read_run(str(root)), K1))
    out = {o.path: o for o in execute(request)}
    assert out[str(victim)].deleted
    lost = bytes_lost(before, tree_state(tmp_path), planned_paths(request))
    assert lost == 0 and (outside / "dir" / "inner.bin").read_bytes() == b"i" * 500
    assert all(checkpoint(root, t, 4).is_dir() for t in (0, 1))
    record(
        "links inside a checkpoint to a file, a dir outside and the run root", "links unlinked, targets untouched", lost
    )


def test_file_added_between_confirm_and_delete(tmp_path):
    root = make_run(tmp_path / "run")
    request = prepare(plan(read_run(str(root)), K1))
    victim = checkpoint(root, 0, 2)
    (victim / "late_shard.bin").write_bytes(b"L" * 300)
    before = tree_state(tmp_path)
    out = {o.path: o for o in execute(request)}
    assert not out[str(victim)].deleted and out[str(victim)].reason.startswith(CHANGED)
    assert (victim / "late_shard.bin").read_bytes() == b"L" * 300
    after = tree_state(tmp_path)
    others = [p for p in planned_paths(request) if p != str(victim)]
    lost = bytes_lost(before, after, others)  # the changed one counts as outside: it must be whole
    assert lost == 0
    assert sum(o.deleted for o in out.values()) == len(request.items) - 1
    record(
        "file added to a checkpoint between confirm and delete",
        "skipped: 'changed since you confirmed'; checkpoint whole",
        lost,
    )


def test_file_rewritten_same_size_between_confirm_and_delete(tmp_path):
    root = make_run(tmp_path / "run")
    request = prepare(plan(read_run(str(root)), K1))
    victim = checkpoint(root, 1, 1)
    model = victim / "model.bin"
    model.write_bytes(b"Y" * model.stat().st_size)  # same size, new content and mtime
    before = tree_state(tmp_path)
    out = {o.path: o for o in execute(request)}
    assert not out[str(victim)].deleted and CHANGED in out[str(victim)].reason
    lost = bytes_lost(before, tree_state(tmp_path), [p for p in planned_paths(request) if p != str(victim)])
    assert lost == 0
    record("file rewritten (same size) between confirm and delete", "skipped: changed since you confirmed", lost)


def test_checkpoint_removed_by_someone_else(tmp_path):
    root = make_run(tmp_path / "run")
    request = prepare(plan(read_run(str(root)), K1))
    gone = checkpoint(root, 0, 0)
    shutil.rmtree(gone)
    before = tree_state(tmp_path)
    out = {o.path: o for o in execute(request)}
    assert not out[str(gone)].deleted and "no longer on disk" in out[str(gone)].reason
    assert sum(o.deleted for o in out.values()) == len(request.items) - 1
    lost = bytes_lost(before, tree_state(tmp_path), planned_paths(request))
    assert lost == 0
    record(
        "checkpoint removed by someone else between confirm and delete",
        "skipped: 'no longer on disk'; the rest deleted",
        lost,
    )


def test_rename_permission_denied(tmp_path, monkeypatch):
    root = make_run(tmp_path / "run")
    request = prepare(plan(read_run(str(root)), K1))
    locked = checkpoint(root, 0, 1)
    real_rename = os.rename

    def rename(src, dst, *a, **kw):
        if os.fsdecode(src) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_rename(src, dst, *a, **kw)

    monkeypatch.setattr(os, "rename", rename)
    before = tree_state(tmp_path)
    out = {o.path: o for o in execute(request)}
    o = out[str(locked)]
    assert not o.deleted and "Permission denied" in o.reason and "left whole" in o.reason
    others = [p for p in planned_paths(request) if p != str(locked)]
    lost = bytes_lost(before, tree_state(tmp_path), others)
    assert lost == 0 and all(out[p].deleted for p in others)
    record(
        "read-only trial dir (rename aside -> PermissionError, simulated)",
        "skipped, left whole under its name; the rest deleted",
        lost,
    )


def test_permission_denied_midway_leaves_an_aside(tmp_path, monkeypatch):
    root = make_run(tmp_path / "run")
    victim = checkpoint(root, 1, 2)
    (victim / "sub").mkdir()
    (victim / "sub" / "a.bin").write_bytes(b"a" * 64)
    age(root)
    request = prepare(plan(read_run(str(root)), K1))
    real_rmdir = os.rmdir

    def rmdir(path, *a, **kw):
        if os.fsdecode(path) == "sub":
            raise PermissionError(13, "Permission denied")
        return real_rmdir(path, *a, **kw)

    monkeypatch.setattr(os, "rmdir", rmdir)
    before = tree_state(tmp_path)
    out = {o.path: o for o in execute(request)}
    o = out[str(victim)]
    assert not o.deleted and o.aside and "partly deleted" in o.reason and os.path.isdir(o.aside)
    assert not victim.exists()  # never half there under its own name
    others = [p for p in planned_paths(request) if p != str(victim)]
    assert all(out[p].deleted for p in others)
    lost = bytes_lost(before, tree_state(tmp_path), planned_paths(request))
    assert lost == 0
    monkeypatch.undo()
    run = read_run(str(root))
    assert find_leftovers(run) == [o.aside] and all(not c.name.startswith(".") for c in run.checkpoints())
    [cleaned] = clean_leftovers(find_leftovers(run), root=str(root))
    assert cleaned.deleted and not os.path.exists(o.aside)
    record(
        "directory inside a checkpoint refuses rmdir midway (PermissionError, simulated)",
        "aside left and reported, cleaned on the next run; the rest deleted",
        lost,
    )


def test_immutable_file_with_chattr(tmp_path):
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not installed")
    root = make_run(tmp_path / "run")
    victim = checkpoint(root, 0, 3)
    locked = victim / "model.bin"
    res = subprocess.run([chattr, "+i", str(locked)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(
            f"chattr +i is not supported here ({res.stderr.decode(errors='replace').strip()}): "
            "tmpfs and overlayfs have no immutable flag; the PermissionError is simulated instead"
        )
    try:
        request = prepare(plan(read_run(str(root)), K1))
        before = tree_state(tmp_path)
        out = {o.path: o for o in execute(request)}
        o = out[str(victim)]
        assert not o.deleted and victim.is_dir() and locked.exists()
        lost = bytes_lost(before, tree_state(tmp_path), [p for p in planned_paths(request) if p != str(victim)])
        assert lost == 0
        record("immutable file in a checkpoint (chattr +i)", "skipped, left whole", lost)
    finally:
        subprocess.run([chattr, "-i", str(locked)], capture_output=True)
        for p in tmp_path.rglob(f"{ASIDE_PREFIX}*"):
            subprocess.run([chattr, "-i", "-R", str(p)], capture_output=True)


def test_read_only_dir_with_chmod(tmp_path):
    if os.geteuid() == 0:
        pytest.skip(
            "running as root: chmod does not stop root (the PermissionError is simulated in "
            "test_rename_permission_denied and test_permission_denied_midway_leaves_an_aside)"
        )
    root = make_run(tmp_path / "run")
    trial = checkpoint(root, 0, 0).parent
    request = prepare(plan(read_run(str(root)), K1))
    before = tree_state(tmp_path)
    os.chmod(trial, 0o555)
    try:
        out = list(execute(request))
    finally:
        os.chmod(trial, 0o755)
    assert any(o.trial_id == trial.name for o in out)  # the locked trial was reached
    for o in out:
        if o.trial_id == trial.name:
            assert not o.deleted and "left whole" in o.reason and os.path.isdir(o.path)
        else:
            assert o.deleted
    lost = bytes_lost(before, tree_state(tmp_path), [o.path for o in out if o.deleted])
    assert lost == 0
    record("read-only trial dir (chmod 555, non-root)", "skipped, left whole", lost)


# ---------------------------------------------------------------------------------------------
# SIGKILL in the middle of deleting a large checkpoint

_KILL_SCRIPT = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
run, marker, when, count = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
seen = [0]

def hook(real):
    def wrapper(*a, **kw):
        seen[0] += 1
        if seen[0] == count:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(fd)
            time.sleep(120)  # the test kills us here
        return real(*a, **kw)
    return wrapper

if when == "unlink":
    os.unlink = hook(os.unlink)
else:
    _real_rename = os.rename
    def rename(src, dst, *a, **kw):
        if os.path.basename(os.fsdecode(dst)).startswith(".ckpt-tui-deleting."):
            return hook(_real_rename)(src, dst, *a, **kw)
        return _real_rename(src, dst, *a, **kw)
    os.rename = rename
from ckpt_tui.cli import main
sys.exit(main([run, "--num-to-keep", "1", "--score-attribute", "loss", "--score-order", "min",
               "--prune", "--yes"]))
"""


def _large_run(base: Path) -> tuple[Path, Path]:
    root = base / "run"
    trial = root / "trainable_abcde_00000_0_seed=0_2026-01-01_00-00-00"
    write_tune_trial(trial, [{"loss": 3.0}, {"loss": 1.0}, {"loss": 2.0}])
    big = trial / "checkpoint_000000"
    for d in range(4):
        (big / f"shard_{d}").mkdir()
        for f in range(75):
            (big / f"shard_{d}" / f"part_{f:03d}.bin").write_bytes(os.urandom(2048))
    age(root)
    return root, big


@pytest.mark.parametrize(
    "when,count,expect",
    [
        ("rename", 1, "whole under its name"),
        ("unlink", 1, "aside, nothing removed yet"),
        ("unlink", 150, "aside, half removed"),
    ],
)
def test_sigkill_mid_deletion_then_restart(tmp_path, when, count, expect):
    root, big = _large_run(tmp_path)
    before = tree_state(tmp_path)
    rel_before = {
        os.path.relpath(p, os.fsencode(str(big))): v
        for p, v in before.items()
        if p.startswith(os.fsencode(str(big)) + b"/")
    }
    script = tmp_path / "killme.py"
    script.write_text(_KILL_SCRIPT)
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(REPO), str(root), str(marker), when, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the subprocess never reached the kill point"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()
    marker.unlink()
    trial = big.parent
    asides = [p for p in trial.iterdir() if p.name.startswith(ASIDE_PREFIX)]
    if when == "rename":
        assert big.is_dir() and not asides
        now = tree_state(big)
        assert {os.path.relpath(p, os.fsencode(str(big))): v for p, v in now.items()} == rel_before
    else:
        # Never half there under its own name: gone from its name, the rest aside.
        assert not os.path.lexists(big) and len(asides) == 1
        left = {os.path.relpath(p, os.fsencode(str(asides[0]))): v for p, v in tree_state(asides[0]).items()}
        assert set(left) <= set(rel_before) and all(left[k] == rel_before[k] for k in left)
        if count == 1:
            assert len(left) == len(rel_before)
        else:
            assert 0 < len([v for v in left.values()]) < len(rel_before)
        run = read_run(str(root))
        assert run.leftovers == [str(asides[0])]
        assert all(not c.name.startswith(ASIDE_PREFIX) for c in run.checkpoints())
        code, out, _ = run_cli([root, "--json"])
        assert code == 0 and json.loads(out)["leftovers"] == [str(asides[0])]
    # Restart: the leftover is offered and removed, the prune finishes.
    code, out, err = run_cli([root, *K1_FLAGS, "--prune", "--yes"])
    assert code == 0, err
    if when != "rename":
        assert "leftover" in out and "removed leftover" in out
    assert not os.path.lexists(big) and not [p for p in trial.iterdir() if p.name.startswith(ASIDE_PREFIX)]
    lost = bytes_lost(before, tree_state(tmp_path), [str(big)])
    assert lost == 0
    record(
        f"SIGKILL while deleting a 600 KB / 300-file checkpoint ({when} #{count})",
        f"{expect}; the restart's --prune "
        + ("deleted it" if when == "rename" else "offered and removed the leftover, then finished"),
        lost,
    )


# ---------------------------------------------------------------------------------------------


def _add_checkpoint(trial: Path, index: int, loss: float) -> None:
    """What Ray does: write the checkpoint dir in place, then append the report line."""
    d = trial / f"checkpoint_{index:06d}"
    d.mkdir()
    (d / "model.bin").write_bytes(os.urandom(256))
    with open(trial / "result.json", "a") as f:
        f.write(json.dumps({"loss": loss, "checkpoint_dir_name": d.name, "training_iteration": index + 1}) + "\n")


def test_writer_adds_checkpoints_between_deletions(tmp_path):
    root = make_run(tmp_path / "run", trials=2, reports=6)
    request = prepare(plan(read_run(str(root)), K1))
    trials = sorted(p for p in root.iterdir() if p.name.startswith("trainable_"))
    before = tree_state(tmp_path)
    added = []
    next_index = {t: 6 for t in trials}
    outcomes = []
    for o in execute(request):  # a new (worse, then better) checkpoint lands after every deletion
        outcomes.append(o)
        for t in trials:
            loss = 100.0 if next_index[t] % 2 else 0.01 * next_index[t]
            _add_checkpoint(t, next_index[t], loss)
            added.append(t / f"checkpoint_{next_index[t]:06d}")
            next_index[t] += 1
    assert all(o.deleted for o in outcomes), [o.reason for o in outcomes]
    after = tree_state(tmp_path)
    lost = bytes_lost(before, after, planned_paths(request), appended=True)
    assert lost == 0 and all(p.is_dir() for p in added)
    record(
        "writer adds checkpoints (and result.json lines) between deletions",
        "confirmed ones deleted; every new checkpoint intact",
        lost,
    )


def test_writer_thread_during_prune(tmp_path):
    root = make_run(tmp_path / "run", trials=3, reports=20)
    trials = sorted(p for p in root.iterdir() if p.name.startswith("trainable_"))
    before = tree_state(tmp_path)
    stop = threading.Event()
    added: list[Path] = []

    def writer():
        i = 20
        while not stop.is_set() and i < 60:
            for t in trials:
                _add_checkpoint(t, i, 50.0 + i)
                added.append(t / f"checkpoint_{i:06d}")
            i += 1
            time.sleep(0.002)

    request = prepare(plan(read_run(str(root)), K1))
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        outcomes = list(execute(request))
    finally:
        stop.set()
        thread.join()
    after = tree_state(tmp_path)
    assert added and len(outcomes) == len(request.items) and any(o.deleted for o in outcomes)
    assert all(o.reason for o in outcomes if not o.deleted)  # each skip says why
    lost = bytes_lost(before, after, planned_paths(request), appended=True)
    assert lost == 0
    assert all(p.is_dir() and (p / "model.bin").stat().st_size == 256 for p in added)
    kept_latest = [t / "checkpoint_000019" for t in trials]
    assert all(p.is_dir() for p in kept_latest)
    record(
        "writer thread adds checkpoints while the prune runs",
        f"{sum(o.deleted for o in outcomes)}/{len(outcomes)} confirmed deleted; all {len(added)} new intact",
        lost,
    )


def test_run_given_through_a_symlink(tmp_path):
    root = make_run(tmp_path / "real run")
    link = tmp_path / "link to run"
    os.symlink(root, link)
    before = tree_state(tmp_path)
    run = read_run(str(link))
    assert run.root == str(root)
    request = prepare(plan(run, K1))
    code, _out, err = run_cli([link, *K1_FLAGS, "--prune", "--yes"])
    assert code == 0, err
    assert os.path.islink(link) and (root / ".ckpt-tui" / "deletions.jsonl").is_file()
    lost = bytes_lost(before, tree_state(tmp_path), planned_paths(request))
    assert lost == 0 and all(not os.path.exists(p) for p in planned_paths(request))
    record("run dir given through a symlink", "resolved to the real dir; plan applied; link kept", lost)


def test_trial_dir_symlinked_outside_the_run(tmp_path):
    root = make_run(tmp_path / "run", trials=1)
    elsewhere = make_run(tmp_path / "elsewhere", trials=1)
    real_trial = next(elsewhere.iterdir())
    os.symlink(real_trial, root / "trainable_zzzzz_00009_9_seed=9_2026-01-01_00-00-00")
    before = tree_state(tmp_path)
    request = prepare(plan(read_run(str(root)), K1))
    out = list(execute(request))
    outside = [o for o in out if "zzzzz" in o.path]
    assert outside and all(not o.deleted and "outside the run" in o.reason for o in outside)
    assert all(o.deleted for o in out if o not in outside)
    lost = bytes_lost(before, tree_state(tmp_path), [o.path for o in out if o.deleted])
    assert lost == 0
    record(
        "trial dir is a symlink to a trial outside the run",
        "its checkpoints skipped: 'resolves outside the run directory'",
        lost,
    )


def test_names_with_spaces_unicode_and_non_utf8(tmp_path):
    base = tmp_path / os.fsdecode("runs ü \xe2\x9c\x93 \xff".encode("latin-1"))
    names = [
        "trainable_ab cd_00000_0_seed=ü ✓_2026-01-01_00-00-00",
        os.fsdecode(b"trainable_x\xff\xfe_00001_1_seed=1_2026-01-01_00-00-00"),
    ]
    root = make_run(base, trial_names=names)
    for t in names:
        ck = root / t / "checkpoint_000001"
        (ck / "weights ü.bin").write_bytes(b"u" * 33)
        (ck / os.fsdecode(b"raw \xff name.bin")).write_bytes(b"r" * 44)
    age(root)
    before = tree_state(tmp_path)
    request = prepare(plan(read_run(str(root)), K1))
    assert len(request.items) == 8
    code, out, err = run_cli([root, *K1_FLAGS, "--prune", "--yes"])
    assert code == 0, err
    # Undecodable bytes shown as \xNN (issue 10: U+FFFD made two such names look the same).
    assert "Traceback" not in err and "trainable_x\\xff\\xfe_00001" in out and "\ufffd" not in out
    lost = bytes_lost(before, tree_state(tmp_path), planned_paths(request))
    assert lost == 0 and all(not os.path.lexists(p) for p in planned_paths(request))
    for line in (root / ".ckpt-tui" / "deletions.jsonl").read_text(encoding="ascii").splitlines():
        json.loads(line)
    code, out, _ = run_cli([root, "--json"])
    assert code == 0 and json.loads(out)["summary"]["checkpoints"] == 2
    record(
        "names with spaces, Unicode and non-UTF-8 bytes (run, trial, files)",
        "all 8 planned deleted; log is valid JSON; output shows the bytes as \\xNN",
        lost,
    )


def test_train_v2_killed_between_snapshot_and_rename(tmp_path, monkeypatch):
    """Killed after the snapshot rewrite, before the rename: Ray can still restore (every listed
    checkpoint is on disk; the unlisted one is whole and ignored by Ray), and a rerun goes on."""
    from tests.conftest import write_v2_run

    root = write_v2_run(tmp_path / "run", [3.0, 1.0, 2.0, 0.5])
    age(root)
    before = tree_state(tmp_path)
    request = prepare(plan(read_run(str(root)), CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score")))
    assert len(request.items) == 2

    class Killed(BaseException):  # not an Exception: nothing in execute may swallow it
        pass

    def dead(*a, **kw):
        raise Killed()

    monkeypatch.setattr(os, "rename", dead)
    with pytest.raises(Killed):
        list(execute(request))
    monkeypatch.undo()
    first = request.items[0]
    snap = json.loads((root / "checkpoint_manager_snapshot.json").read_text())
    listed = [r["checkpoint_dir_name"] for r in snap["checkpoint_results"]]
    assert first.name not in listed and all((root / n).is_dir() for n in listed)  # restorable
    # not a byte gone yet (the snapshot was rewritten, as planned): the checkpoint is whole
    assert bytes_lost(before, tree_state(tmp_path), [str(root / "checkpoint_manager_snapshot.json")]) == 0
    run = read_run(str(root))
    orphan = next(c for c in run.checkpoints() if c.name == first.name)
    assert orphan.report is None  # shown as unlisted, never deleted by the tool
    age(root)
    code, _out, err = run_cli([root, "--num-to-keep", "1", "--score-attribute", "score", "--prune", "--yes"])
    assert code == 0, err
    assert os.path.isdir(first.path) and not os.path.exists(request.items[1].path)
    lost = bytes_lost(
        before, tree_state(tmp_path), [request.items[1].path, str(root / "checkpoint_manager_snapshot.json")]
    )
    assert lost == 0
    record(
        "Train v2: killed after the snapshot rewrite, before the rename",
        "that checkpoint whole but unlisted (Ray restores fine); rerun deleted the rest",
        lost,
    )
