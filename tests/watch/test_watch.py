"""RunWatcher: file events and polling both turn changes into batches of changed trial ids."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time

import pytest

from ckpt_tui.core.model import ASIDE_PREFIX, TRAIN_V2, TUNE, TUNE_TRIAL
from ckpt_tui.core.readers import read_run, reread
from ckpt_tui.watch import RunWatcher, fs, signatures
from ckpt_tui.watch import watcher as watcher_mod
from ckpt_tui.watch.paths import PathMapper
from tests.conftest import mark_running

TIMEOUT = 20.0  # generous: a loaded 2-core machine


class Batches:
    def __init__(self) -> None:
        self.items: list[set[str]] = []
        self.cond = threading.Condition()

    def __call__(self, ids: set[str]) -> None:
        with self.cond:
            self.items.append(set(ids))
            self.cond.notify_all()

    @property
    def union(self) -> set[str]:
        with self.cond:
            return set().union(*self.items) if self.items else set()

    def wait_for(self, predicate, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; batches so far: {self.items}"
                self.cond.wait(left)

    def clear(self) -> None:
        with self.cond:
            self.items.clear()


def wait_until(predicate, timeout: float = TIMEOUT, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)


def trials_of(root) -> list[str]:
    return sorted(n for n in os.listdir(root) if n.startswith("trainable_"))


def add_checkpoint(trial_dir, index: int, files: int = 1) -> str:
    """What Ray does: write the checkpoint dir, then append the result.json line."""
    name = f"checkpoint_{index:06d}"
    cdir = os.path.join(trial_dir, name)
    os.mkdir(cdir)
    for i in range(files):
        with open(os.path.join(cdir, f"part{i}.bin"), "wb") as f:
            f.write(b"x" * 64)
    with open(os.path.join(trial_dir, "result.json"), "a") as f:
        f.write(json.dumps({"loss": 0.5, "checkpoint_dir_name": name, "training_iteration": index + 1}) + "\n")
    return name


MODES = [pytest.param(None, id="events"), pytest.param(0.2, id="polling")]


def watch_levels(watch, root):
    """A watcher of the run root and each trial dir; skips where watchdog watches recursively."""
    w, batches = watch(root)
    if w._strategy != watcher_mod.LEVELS:
        pytest.skip("this watchdog watches recursively (not inotify, or watchdog < 7)")
    return w, batches


@pytest.fixture
def watch(request):
    started: list[RunWatcher] = []

    def make(root, layout=TUNE, **kwargs) -> tuple[RunWatcher, Batches]:
        batches = Batches()
        w = RunWatcher(str(root), layout, batches, **kwargs)
        w.start()
        started.append(w)
        return w, batches

    yield make
    for w in started:
        w.stop()


@pytest.mark.parametrize("poll", MODES)
def test_new_checkpoint_names_only_its_trial_and_reread_picks_it_up(ray_run, watch, poll):
    root = ray_run("keep_all")
    trial = trials_of(root)[1]
    mark_running(root, trial)  # a live run: the new report registers
    run = read_run(str(root))
    w, batches = watch(root, poll_interval=poll)
    assert w.mode == ("polling" if poll else "events")
    name = add_checkpoint(root / trial, 8)
    batches.wait_for(lambda b: trial in b.union)
    assert all(batch == {trial} for batch in batches.items), batches.items
    assert reread(run, batches.union) == [trial]
    assert [c.name for c in run.trials[trial].checkpoints][-1] == name
    assert run.trials[trial].checkpoints[-1].report is not None


@pytest.mark.parametrize("poll", MODES)
def test_new_trial_dir_is_a_run_level_change(ray_run, watch, poll):
    root = ray_run("keep_all")
    run = read_run(str(root))
    _w, batches = watch(root, poll_interval=poll)
    new = "trainable_14fd1_00003_3_seed=4_2026-11-28_00-17-22"
    os.mkdir(root / new)
    (root / new / "params.json").write_text('{"seed": 4}')
    batches.wait_for(lambda b: "" in b.union and new in b.union)
    reread(run, batches.union)
    assert new in run.trials


@pytest.mark.parametrize("poll", MODES)
def test_deleted_checkpoint_names_its_trial(ray_run, watch, poll):
    root = ray_run("keep_all")
    _w, batches = watch(root, poll_interval=poll)
    trial = trials_of(root)[2]
    shutil.rmtree(root / trial / "checkpoint_000003")
    batches.wait_for(lambda b: trial in b.union)
    assert batches.union == {trial}


def test_deletion_aside_then_removed_names_its_trial(ray_run, watch):
    root = ray_run("keep_all")
    _w, batches = watch(root)
    trial = trials_of(root)[0]
    aside = root / trial / f"{ASIDE_PREFIX}checkpoint_000002.123"
    os.rename(root / trial / "checkpoint_000002", aside)
    shutil.rmtree(aside)
    batches.wait_for(lambda b: trial in b.union)
    assert batches.union == {trial}


def storm_of_files(trial_dir, n: int = 2000) -> None:
    """n files written one by one directly in a trial dir, where the watcher sees every one."""
    for i in range(n):
        with open(os.path.join(trial_dir, f"storm{i}.txt"), "w") as f:
            f.write("x")


def storm_of_checkpoints(trial_dir, n: int = 300) -> None:
    """n checkpoint dirs at once, each written and then reported as Ray does."""
    for i in range(n):
        add_checkpoint(trial_dir, 100 + i)


STORMS = [
    pytest.param(storm_of_files, id="2000-files-in-trial-dir"),
    pytest.param(storm_of_checkpoints, id="300-checkpoints"),
]


@pytest.mark.parametrize("storm", STORMS)
def test_a_storm_of_events_is_one_batch(ray_run, watch, storm):
    root = ray_run("keep_all")
    # No latency cap within the test's time: quiet alone ends the batch. A longer quiet period
    # than the default keeps a loaded machine's pauses from splitting the storm.
    w, batches = watch(root, debounce=0.6, max_latency=60.0)
    trial = trials_of(root)[0]
    storm(root / trial)
    batches.wait_for(lambda b: b.items)
    time.sleep(1.0)  # a straggler would make a second batch by now
    assert w.events >= 1000, w.events  # a storm it was: every one of those events was seen
    assert batches.items == [{trial}]


@pytest.mark.parametrize("storm", STORMS)
def test_a_storm_with_the_default_cap_is_a_few_batches(ray_run, watch, storm):
    root = ray_run("keep_all")
    w, batches = watch(root)
    trial = trials_of(root)[0]
    storm(root / trial)
    batches.wait_for(lambda b: b.items)
    time.sleep(4 * w.debounce)
    assert w.events >= 1000, w.events
    # at most one batch per max_latency while the storm lasts: a handful, never one per file
    assert 1 <= len(batches.items) <= 20
    assert batches.union == {trial}


def test_a_checkpoint_of_2000_files_raises_a_handful_of_events(ray_run, watch):
    # Checkpoint dirs are not watched: their dir creation and the result.json append say it all.
    root = ray_run("keep_all")
    trial = trials_of(root)[0]
    mark_running(root, trial)  # a live run: the new report registers
    run = read_run(str(root))
    w, batches = watch(root)
    name = add_checkpoint(root / trial, 8, files=2000)
    batches.wait_for(lambda b: trial in b.union)
    time.sleep(4 * w.debounce)
    assert batches.union == {trial}
    if w._strategy == watcher_mod.LEVELS:
        assert w.events < 50, w.events
    assert reread(run, batches.union) == [trial]
    last = run.trials[trial].checkpoints[-1]
    assert last.name == name and last.report is not None


def test_a_trial_dir_created_after_start_is_watched(ray_run, watch):
    root = ray_run("keep_all")
    run = read_run(str(root))
    w, batches = watch(root)
    assert w.mode == "events"
    new = "trainable_14fd1_00003_3_seed=4_2026-11-28_00-17-22"
    os.mkdir(root / new)
    batches.wait_for(lambda b: "" in b.union)
    if w._strategy == watcher_mod.LEVELS:
        wait_until(lambda: str(root / new) in w.watched_paths)
    time.sleep(2 * w.debounce)
    batches.clear()
    (root / new / "params.json").write_text('{"seed": 4}')
    name = add_checkpoint(root / new, 0, files=3)
    batches.wait_for(lambda b: new in b.union)
    assert batches.union == {new}
    reread(run, {"", new})
    assert [c.name for c in run.trials[new].checkpoints] == [name]
    assert run.trials[new].checkpoints[0].report is not None


def test_a_trial_dir_written_at_once_with_its_first_checkpoint_is_read_whole(ray_run, watch):
    # Whatever lands in a new trial dir before its watch is in place is read by the re-read of
    # the batch that names it: the batch comes after the watch.
    root = ray_run("keep_all")
    run = read_run(str(root))
    w, batches = watch(root)
    new = "trainable_14fd1_00003_3_seed=4_2026-11-28_00-17-22"
    os.mkdir(root / new)
    (root / new / "params.json").write_text('{"seed": 4}')
    name = add_checkpoint(root / new, 0)
    batches.wait_for(lambda b: new in b.union)
    time.sleep(2 * w.debounce)
    reread(run, batches.union)
    assert [c.name for c in run.trials[new].checkpoints] == [name]


def test_one_watch_for_the_root_and_one_per_trial_dir(ray_run, watch):
    root = ray_run("keep_all")
    before = fs.inotify_watch_count()
    w, _batches = watch_levels(watch, root)
    trials = trials_of(root)
    assert len(trials) == 3
    assert w.watched_paths == [str(root)] + [str(root / t) for t in trials]
    assert fs.inotify_watch_count() - before == 1 + len(trials)
    # not one per checkpoint dir
    assert sum(1 for t in trials for n in os.listdir(root / t) if n.startswith("checkpoint_")) > 10


def test_a_trial_dir_that_goes_loses_its_watch_and_events_go_on(ray_run, watch):
    root = ray_run("keep_all")
    before = fs.inotify_watch_count()
    w, batches = watch_levels(watch, root)
    gone, kept = trials_of(root)[0], trials_of(root)[1]
    shutil.rmtree(root / gone)
    batches.wait_for(lambda b: "" in b.union)
    wait_until(lambda: str(root / gone) not in w.watched_paths)
    wait_until(lambda: fs.inotify_watch_count() - before == 3)
    time.sleep(1.5 * watcher_mod._HEALTH_EVERY)  # the health check must not take this for a death
    assert w.mode == "events" and w.fallback_reason is None
    batches.clear()
    add_checkpoint(root / kept, 8)
    batches.wait_for(lambda b: kept in b.union)
    assert batches.union == {kept}


def test_a_trial_dir_renamed_is_watched_under_its_new_name(ray_run, watch):
    root = ray_run("keep_all")
    w, batches = watch_levels(watch, root)
    old = trials_of(root)[0]
    new = old.replace("seed=1", "seed=9")
    os.rename(root / old, root / new)
    batches.wait_for(lambda b: new in b.union)
    wait_until(lambda: str(root / new) in w.watched_paths and str(root / old) not in w.watched_paths)
    time.sleep(2 * w.debounce)
    batches.clear()
    add_checkpoint(root / new, 8)
    batches.wait_for(lambda b: new in b.union)
    assert batches.union == {new}


def test_a_new_trial_dir_that_cannot_be_watched_means_polling(ray_run, watch, monkeypatch):
    root = ray_run("keep_all")
    w, batches = watch_levels(watch, root)
    real = w._schedule

    def full(observer, path, recursive, follow_symlink=False):
        if path != w.root:
            raise OSError(28, "No space left on device")
        return real(observer, path, recursive, follow_symlink)

    monkeypatch.setattr(w, "_schedule", full)
    new = "trainable_14fd1_00003_3_seed=4_2026-11-28_00-17-22"
    os.mkdir(root / new)
    wait_until(lambda: w.mode == "polling")
    assert "inotify watch limit" in w.fallback_reason
    batches.wait_for(lambda b: new in b.union)
    batches.clear()
    add_checkpoint(root / new, 0)
    batches.wait_for(lambda b: new in b.union)


def test_stop_joins_every_thread_and_is_idempotent(ray_run):
    root = ray_run("keep_all")
    before = set(threading.enumerate())
    w = RunWatcher(str(root), TUNE, lambda ids: None)
    w.start()
    observer = w._observer
    assert observer is not None and observer.is_alive()
    w.stop()
    w.stop()
    assert not observer.is_alive()
    assert not [t for t in set(threading.enumerate()) - before if t.name.startswith("ckpt-tui")]
    assert not w.running


def test_stop_from_inside_on_batch(ray_run):
    root = ray_run("keep_all")
    done = threading.Event()
    holder = {}

    def on_batch(ids):
        holder["w"].stop()
        done.set()

    w = holder["w"] = RunWatcher(str(root), TUNE, on_batch, poll_interval=0.1)
    w.start()
    (root / trials_of(root)[0] / "result.json").open("a").write("\n")
    assert done.wait(TIMEOUT)
    wait_until(lambda: not w._batcher.is_alive())
    w.stop()


def test_a_failing_callback_does_not_stop_watching(ray_run, watch):
    root = ray_run("keep_all")
    seen = Batches()
    calls = []

    def on_batch(ids):
        calls.append(ids)
        if len(calls) == 1:
            raise RuntimeError("boom")
        seen(ids)

    w = RunWatcher(str(root), TUNE, on_batch, poll_interval=0.1)
    w.start()
    try:
        trials = trials_of(root)
        add_checkpoint(root / trials[0], 8)
        wait_until(lambda: calls)
        add_checkpoint(root / trials[1], 8)
        seen.wait_for(lambda b: trials[1] in b.union)
    finally:
        w.stop()


def test_falls_back_to_polling_when_the_observer_cannot_start(ray_run, watch, monkeypatch):
    def no_watches(self):
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher_mod.Observer, "start", no_watches)
    root = ray_run("keep_all")
    w, batches = watch(root)
    assert w.mode == "polling"
    assert "inotify watch limit" in w.fallback_reason
    assert "\n" not in w.fallback_reason
    assert w.poll_interval == 2.0
    trial = trials_of(root)[0]
    add_checkpoint(root / trial, 8)
    batches.wait_for(lambda b: trial in b.union)
    assert batches.union == {trial}


def test_other_start_failures_fall_back_too(ray_run, watch, monkeypatch):
    def broken(self):
        raise RuntimeError("unsupported filesystem")

    monkeypatch.setattr(watcher_mod.Observer, "start", broken)
    w, _ = watch(ray_run("keep_all"))
    assert w.mode == "polling"
    assert "unsupported filesystem" in w.fallback_reason


def test_falls_back_when_watchdog_silently_skips_trial_dirs(ray_run, watch, monkeypatch):
    # watchdog swallows ENOSPC below the root; we count the watches it really holds
    monkeypatch.setattr(fs, "inotify_watch_count", lambda stop_at=None: 0)
    w, _ = watch(ray_run("keep_all"))
    assert w.mode == "polling"
    assert "inotify watch limit" in w.fallback_reason


def test_network_filesystem_means_polling(ray_run, watch, monkeypatch):
    monkeypatch.setattr(fs, "filesystem_type", lambda path, mountinfo=None: "nfs4")
    w, _ = watch(ray_run("keep_all"))
    assert w.mode == "polling"
    assert "network filesystem (nfs4)" in w.fallback_reason


def test_forced_polling_is_not_a_fallback(ray_run, watch):
    w, _ = watch(ray_run("keep_all"), poll_interval=0.5)
    assert (w.mode, w.fallback_reason, w.poll_interval) == ("polling", None, 0.5)


def test_observer_dying_later_switches_to_polling_and_catches_up(ray_run, watch):
    root = ray_run("keep_all")
    w, batches = watch(root)
    assert w.mode == "events"
    w._observer.stop()  # as if the observer thread died
    wait_until(lambda: w.mode == "polling")
    assert "observer" in w.fallback_reason
    batches.wait_for(lambda b: "" in b.union and set(trials_of(root)) <= b.union)
    batches.clear()
    trial = trials_of(root)[1]
    add_checkpoint(root / trial, 8)
    batches.wait_for(lambda b: trial in b.union)


@pytest.mark.parametrize("poll", MODES)
def test_train_v2_and_single_trial_layouts_report_the_run_trial_id(ray_run, watch, poll):
    root = ray_run("train_v2_k2_score_max")
    run = read_run(str(root))
    assert run.layout == TRAIN_V2
    (tid,) = run.trials
    _w, batches = watch(root, layout=TRAIN_V2, poll_interval=poll)
    new = root / "checkpoint_2030-01-01_00-00-00.000001"
    new.mkdir()
    (new / "model.bin").write_bytes(b"x")
    batches.wait_for(lambda b: tid in b.union)
    assert batches.union == {tid}
    reread(run, batches.union)
    assert any(c.name == new.name for c in run.trials[tid].checkpoints)


def test_single_trial_layout(ray_run, watch):
    root = ray_run("keep_all")
    trial_dir = root / trials_of(root)[0]
    run = read_run(str(trial_dir))
    assert run.layout == TUNE_TRIAL
    (tid,) = run.trials
    _w, batches = watch(trial_dir, layout=TUNE_TRIAL)
    add_checkpoint(trial_dir, 8)
    batches.wait_for(lambda b: tid in b.union)
    assert batches.union == {tid}
    reread(run, batches.union)
    assert run.trials[tid].checkpoints[-1].name == "checkpoint_000008"


def test_our_own_reads_do_not_wake_the_watcher(ray_run, watch):
    root = ray_run("keep_all")
    w, batches = watch(root)
    for _ in range(3):
        read_run(str(root))
    time.sleep(4 * w.debounce)
    assert batches.items == []


# ---- the pieces ---------------------------------------------------------------------------------


def test_path_mapping_tune():
    m = PathMapper("/r/run", TUNE)
    t = "trainable_1_00000_0_a=1_2026"
    assert m.trial_for(f"/r/run/{t}/checkpoint_000001/model.bin", False, "created") == t
    assert m.trial_for(f"/r/run/{t}/result.json", False, "modified") == t
    assert m.trial_for(f"/r/run/{t}", True, "modified") == t  # its entries changed
    assert m.trial_for(f"/r/run/{t}", True, "created") == ""
    assert m.trial_for(f"/r/run/{t}", True, "deleted") == ""
    assert m.trial_for("/r/run/experiment_state-2026.json", False, "modified") == ""
    assert m.trial_for("/r/run", True, "modified") is None
    assert m.trial_for("/r/runner/x/y", False, "created") is None
    aside = f"{ASIDE_PREFIX}checkpoint_000001.9"
    assert m.trial_for(f"/r/run/{t}/{aside}", True, "deleted") == t
    assert m.trial_for(f"/r/run/{t}/{aside}/model.bin", False, "deleted") is None
    assert m.trial_for("/r/run/.hidden/x", False, "created") is None


def test_path_mapping_single_trial_and_train_v2():
    for layout in (TUNE_TRIAL, TRAIN_V2):
        m = PathMapper("/r/my_run", layout)
        assert m.trial_for("/r/my_run/checkpoint_000001/model.bin", False, "created") == "my_run"
        assert m.trial_for("/r/my_run/result.json", False, "modified") == "my_run"


def test_filesystem_type_from_mountinfo():
    info = "\n".join(
        [
            r"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
            r"40 22 0:50 / /mnt/shared rw,relatime shared:2 - nfs4 srv:/export rw",
            r"41 22 0:51 / /mnt/my\040disk rw - fuse.sshfs host: rw",
            r"42 22 0:52 / /mnt/sharedx rw - xfs /dev/sdb rw",
        ]
    )
    assert fs.filesystem_type("/mnt/shared/runs/a", info) == "nfs4"
    assert fs.filesystem_type("/mnt/sharedx/a", info) == "xfs"
    assert fs.filesystem_type("/mnt/my disk/a", info) == "fuse.sshfs"
    assert fs.filesystem_type("/home/u", info) == "ext4"
    assert fs.is_network_fs("nfs4") and fs.is_network_fs("fuse.sshfs") and fs.is_network_fs("fuse.gcsfuse")
    assert not fs.is_network_fs("ext4") and not fs.is_network_fs("fuse.fuse-overlayfs")
    assert not fs.is_network_fs(None)


def test_polling_scan_does_not_relist_unchanged_trials(ray_run):
    root = ray_run("keep_all")
    old = time.time() - 3600
    for t in trials_of(root):
        os.utime(root / t, (old, old))
    scanner = signatures.Scanner(str(root), TUNE, "")
    first = scanner.scan()
    assert scanner.listed == 3
    second = scanner.scan()
    assert scanner.listed == 0
    assert signatures.diff(first, second) == set()
    trial = trials_of(root)[0]
    add_checkpoint(root / trial, 8)
    third = scanner.scan()
    assert signatures.diff(second, third) == {trial}


def test_polling_sees_files_landing_in_the_newest_checkpoint(ray_run):
    root = ray_run("keep_all")
    trial = trials_of(root)[0]
    scanner = signatures.Scanner(str(root), TUNE, "")
    before = scanner.scan()
    newest = root / trial / "checkpoint_000007"
    (newest / "late.bin").write_bytes(b"y")
    future = time.time() + 5
    os.utime(newest, (future, future))  # whatever the filesystem's timestamp granularity
    assert signatures.diff(before, scanner.scan()) == {trial}


def test_a_trial_dir_gone_between_listing_and_watching_is_not_the_inotify_limit(ray_run, watch, monkeypatch):
    """The root is listed, then one trial dir vanishes before its watch is made: there is
    nothing to watch there, so events stay on (counting it as a watch made read as the limit)."""
    root = ray_run("keep_all")
    listed = watcher_mod.RunWatcher._trial_dirs

    def with_a_ghost(self):
        return [*listed(self), str(root / "trainable_gone_00009")]

    monkeypatch.setattr(watcher_mod.RunWatcher, "_trial_dirs", with_a_ghost)
    w, _batches = watch_levels(watch, root)
    assert w.mode == "events" and w.fallback_reason is None
    assert len(w.watched_paths) == 1 + len(trials_of(root))
