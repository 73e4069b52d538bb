"""Hostile filesystems (issue 10): run directories prepared to mislead ckpt-tui. Each test
failed before its fix; the rows recorded here are the README's fault table for them."""

from __future__ import annotations

import random
import time

import pytest

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import TUNE, Checkpoint, Report, Run, Trial
from ckpt_tui.core.retention import plan, replay
from ckpt_tui.ui.textual_compat import screen_strips
from tests.conftest import mark_running, run_cli
from tests.core.test_deletion import record
from tests.ray_reference import survivors


def one_trial(metrics_list) -> Run:
    trial = Trial(id="t", path="/r/t")
    for i, metrics in enumerate(metrics_list):
        report = Report(i, f"checkpoint_{i:06d}", metrics, i + 1, i + 1)
        trial.reports.append(report)
        trial.checkpoints.append(
            Checkpoint("t", report.checkpoint_name, "/r/t/" + report.checkpoint_name, 1, 0.0, report)
        )
    return Run(root="/r", layout=TUNE, trials={"t": trial})


def every_fourth_missing(n: int, seed: int = 0) -> list[dict]:
    rnd = random.Random(seed)
    return [
        {"training_iteration": i + 1} if i % 4 == 3 else {"training_iteration": i + 1, "acc": rnd.random()}
        for i in range(n)
    ]


# --- 7. the replay is O(n log n) whatever num_to_keep is ------------------------------------


def test_replay_of_a_long_unsorted_trial_is_fast_whatever_num_to_keep():
    """40,000 reports, acc missing from every fourth, max, keep 20,000: Ray's list is unsorted,
    so the trial is replayed report by report. It took 42 s; now well under a second (the
    bound leaves room for a loaded machine)."""
    run = one_trial(every_fourth_missing(40_000))
    config = CheckpointConfig(num_to_keep=20_000, checkpoint_score_attribute="acc", checkpoint_score_order="max")
    t0 = time.perf_counter()
    p = plan(run, config)
    assert p.delete_count == 20_000
    seconds = time.perf_counter() - t0
    assert seconds < 6, seconds
    assert p.decisions[run.trials["t"].checkpoints[-1]].keep  # the latest
    # Exactness at a size the literal reference can check in a moment: the same shape.
    small = one_trial(every_fourth_missing(600, seed=1))
    sp = plan(small, config.with_changes(num_to_keep=300))
    kept = sorted(c.report.index for c in small.trials["t"].checkpoints if sp.decisions[c].keep)
    assert kept == survivors([r.metrics for r in small.trials["t"].reports], 300, "acc", "max")
    record(
        "one trial of 40,000 reports, every fourth without the metric, keep 20,000 (max)",
        f"planned in {seconds:.2f} s (was 42 s), exactly as Ray's list",
        0,
    )


@pytest.mark.parametrize("block", [1, 2, 3])
def test_blocked_replay_matches_ray_on_random_sequences(monkeypatch, block):
    """Tiny blocks make every split, merge and boundary case of the blocked list happen; the
    result must still be the literal list's, report for report."""
    monkeypatch.setattr(replay, "_BLOCK", block)
    rnd = random.Random(block)
    for _ in range(300):
        n = rnd.randint(1, 60)
        values = [rnd.choice([0.0, 1.0, 2.0, 3.0, float("nan"), rnd.random()]) for _ in range(n)]
        reports = [{} if rnd.random() < 0.3 else {"m": v} for v in values]
        order = rnd.choice(["max", "min"])
        k = rnd.randint(1, n + 1)
        run = one_trial(reports)
        p = plan(run, CheckpointConfig(num_to_keep=k, checkpoint_score_attribute="m", checkpoint_score_order=order))
        kept = sorted(c.report.index for c in run.trials["t"].checkpoints if p.decisions[c].keep)
        assert kept == survivors(reports, k, "m", order), (reports, k, order)


# --- 3. escape sequences never reach the terminal raw; --json stays exact and lossless ------

import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from ckpt_tui.core.text import terminal_safe  # noqa: E402
from tests.conftest import write_tune_trial  # noqa: E402
from tests.core.test_deletion import age, bytes_lost, tree_state  # noqa: E402

EVIL_TRIAL = "trainable_\x1b[2J\x1b]0;pwned\x07_\r\u202eevil"  # clears, retitles, hides
EVIL_KEY = "loss\x1b[8m"  # a metric key that would hide what follows


def evil_run(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    write_tune_trial(base / EVIL_TRIAL, [{EVIL_KEY: float(5 - i), "junk\x1b[31m": 1} for i in range(5)])
    write_tune_trial(base / os.fsdecode(b"trial_\xff\xfe"), [{EVIL_KEY: float(5 - i)} for i in range(5)])
    age(base)
    return base


def assert_no_raw_controls(text: str) -> None:
    bad = [
        ch
        for ch in text
        if ch not in "\n"
        and (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u202e" or 0xD800 <= ord(ch) <= 0xDFFF)
    ]
    assert not bad, (bad, text[:400])


def test_terminal_safe_escapes_controls_and_undecodable_bytes_only():
    assert terminal_safe("checkpoint_000001 é ✓") == "checkpoint_000001 é ✓"
    assert terminal_safe("a\x1b[2Jb\x07c\x9bd\x7f") == "a\\x1b[2Jb\\x07c\\x9bd\\x7f"
    assert terminal_safe("x\ry\tz\n") == "x\\ry\\tz\\n"
    assert terminal_safe("\u202eevil\u200b") == "\\u202eevil\\u200b"
    assert terminal_safe(os.fsdecode(b"trial_\xff")) == "trial_\\xff"


def test_prune_and_dry_run_escape_every_name_key_and_reason(tmp_path):
    root = evil_run(tmp_path / "run")
    flags = ["--num-to-keep", "1", "--score-attribute", EVIL_KEY, "--score-order", "min"]
    code, out, err = run_cli([root, *flags, "--prune", "--dry-run"])
    assert code == 0, err
    assert_no_raw_controls(out + err)
    assert "trainable_\\x1b[2J\\x1b]0;pwned\\x07_\\r\\u202eevil" in out
    assert "trial_\\xff\\xfe" in out
    assert "loss\\u001b[8m" in out  # the config line names the attribute, as Python would write it
    assert out.count("would delete ") == 8
    before = tree_state(tmp_path)
    code, out, err = run_cli([root, *flags, "--prune", "--yes"])
    assert code == 0, err
    assert_no_raw_controls(out + err)
    assert out.count("\ndeleted ") + out.startswith("deleted ") == 8
    # What the escaped listing named is exactly what went.
    assert (
        bytes_lost(
            before,
            tree_state(tmp_path),
            [root / t / f"checkpoint_{i:06d}" for t in (EVIL_TRIAL, os.fsdecode(b"trial_\xff\xfe")) for i in range(4)],
        )
        == 0
    )
    record(
        "trial dirs, metric keys and the score attribute hold escape sequences and non-UTF-8 bytes",
        "--prune, --dry-run and errors print them escaped (\\x1b, \\xff); the right paths go",
        0,
    )


def test_error_lines_escape_the_path(tmp_path):
    code, _out, err = run_cli([tmp_path / "no\x1b]0;pwned\x07such", "--json"])
    assert code == 1 and "no\\x1b]0;pwned\\x07such" in err
    assert_no_raw_controls(err)


def test_json_stays_exact_and_non_utf8_paths_come_as_bytes(tmp_path):
    root = evil_run(tmp_path / "run")
    code, out, err = run_cli(
        [root, "--num-to-keep", "1", "--score-attribute", EVIL_KEY, "--score-order", "min", "--json"]
    )
    assert code == 0, err
    doc = json.loads(out)
    rows = doc["checkpoints"]
    evil = [r for r in rows if r["trial"] == EVIL_TRIAL]
    assert len(evil) == 5 and all(r["path_b64"] is None for r in evil)  # exact, and UTF-8
    assert all(os.path.isdir(r["path"]) for r in evil)
    raw = [r for r in rows if r["path_b64"] is not None]
    assert len(raw) == 5
    for r in raw:
        assert os.path.isdir(base64.b64decode(r["path_b64"]))  # the bytes name the real dir
    assert doc["config"]["checkpoint_score_attribute"] == EVIL_KEY


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("base64") is None, reason="needs jq and base64")
def test_readme_jq_pipeline_names_the_real_paths(tmp_path):
    """The README's pipeline, run by a shell: every path it prints exists, non-UTF-8 included."""
    root = evil_run(tmp_path / "run")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("ckpt-tui ./experiment --num-to-keep 3 --score-attribute loss --score-order min --json \\")
    block = readme[start : readme.index("```", start)]
    script = block.replace(
        "ckpt-tui ./experiment --num-to-keep 3 --score-attribute loss --score-order min",
        '"$PY" -m ckpt_tui "$RUN" --num-to-keep 1 --score-attribute "$KEY" --score-order min',
    )
    env = dict(os.environ, PY=sys.executable, RUN=str(root), KEY=EVIL_KEY)
    proc = subprocess.run(
        ["bash", "-c", script.strip() + " | xargs -0 -n1 stat -c %F --"], capture_output=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split("\n")[:-1] == ["directory"] * 8


async def test_the_app_shows_names_keys_and_warnings_escaped(tmp_path):
    """The app's screen, as the compositor hands it to the terminal: no raw control character
    in the table, trial pane, detail, summary, the warnings list or the confirmation dialog."""
    from ckpt_tui.core.readers import read_run
    from ckpt_tui.ui.app import CheckpointApp
    from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen

    root = evil_run(tmp_path / "run")
    (root / EVIL_TRIAL / "checkpoint_000099").mkdir()  # unreported: a warning naming the path
    status = json.dumps({"relative_logdir": EVIL_TRIAL, "status": "TERMINATED\x1b[8m"})
    (root / STATE).write_text(json.dumps({"trial_data": [[status, "{}"]]}))
    config = CheckpointConfig(num_to_keep=1, checkpoint_score_attribute=EVIL_KEY, checkpoint_score_order="min")
    app = CheckpointApp(read_run(str(root), sizes=False), config, watch=False)

    def screen_text() -> str:
        strips = screen_strips(app.screen)
        return "\n".join("".join(seg.text for seg in strip) for strip in strips)

    async with app.run_test(size=(160, 45)) as pilot:
        deadline = time.monotonic() + 20
        while app.table.row_count < 11 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        shown = screen_text()
        assert_no_raw_controls(shown)
        assert "\\x1b" in shown and "\\xff" in shown
        assert "TERMINATED\\x1b[8m" in shown  # the status, from experiment_state
        await pilot.press("w")
        await pilot.pause(0.2)
        shown = screen_text()
        assert_no_raw_controls(shown)
        assert "checkpoint_000099" in shown
        await pilot.press("escape")
        await pilot.pause(0.1)
        await pilot.press("d")
        deadline = time.monotonic() + 20
        while not isinstance(app.screen, ConfirmDeleteScreen) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        shown = screen_text()
        assert_no_raw_controls(shown)
        assert "\\x1b[2J" in shown
        await pilot.press("escape")
    record("the same run opened in the app", "table, trial pane, detail, warnings and the dialog show them escaped", 0)


# --- 5. special files: never blocked on, never read past a cap -------------------------------

from tests.conftest import write_v2_run  # noqa: E402


def json_subprocess(root: Path, *flags, timeout: float = 60) -> tuple[int, dict, str]:
    """--json in a child with a timeout: a hang fails the test instead of blocking the suite."""
    proc = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", str(root), "--json", *flags],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else {}), proc.stderr


@pytest.mark.parametrize("victim", ["result.json", "params.json", "experiment_state", "snapshot"])
def test_a_fifo_in_place_of_a_ray_file_is_not_waited_on(tmp_path, victim):
    if victim == "snapshot":
        root = write_v2_run(tmp_path / "v2", [1.0, 2.0, 3.0])
        target = root / "checkpoint_manager_snapshot.json"
    else:
        root = tmp_path / "run"
        write_tune_trial(root / "trial_a", [{"loss": 1.0}, {"loss": 0.5}])
        (root / "experiment_state-2026-01-01_00-00-00.json").write_text("{}")
        target = {
            "result.json": root / "trial_a" / "result.json",
            "params.json": root / "trial_a" / "params.json",
            "experiment_state": root / "experiment_state-2026-01-01_00-00-00.json",
        }[victim]
    target.unlink(missing_ok=True)
    os.mkfifo(target)
    code, doc, err = json_subprocess(root)
    assert code == 0, err
    assert any(target.name in w and "not a regular file (a FIFO)" in w for w in doc["warnings"]), doc["warnings"]
    record(f"a FIFO in place of {target.name}", "--json returns at once; a warning names the file", 0)


def test_a_link_to_dev_zero_is_not_read(tmp_path):
    root = tmp_path / "run"
    write_tune_trial(root / "trial_a", [{"loss": 1.0}, {"loss": 0.5}])
    (root / "trial_a" / "result.json").unlink()
    os.symlink("/dev/zero", root / "trial_a" / "result.json")
    code, doc, err = json_subprocess(root, timeout=60)
    assert code == 0, err
    assert any("result.json" in w and "character device" in w for w in doc["warnings"]), doc["warnings"]
    assert doc["summary"]["checkpoints"] == 2  # listed, unscored
    record("result.json is a symlink to /dev/zero", "not read (a character device); a warning; the rest is read", 0)


def test_a_file_over_the_cap_is_not_read(tmp_path, monkeypatch):
    from ckpt_tui.core import disk
    from ckpt_tui.core.readers import read_run

    root = tmp_path / "run"
    write_tune_trial(root / "trial_a", [{"loss": 1.0, "pad": "x" * 500}, {"loss": 0.5}])
    write_tune_trial(root / "trial_b", [{"loss": 1.0}])
    monkeypatch.setattr(disk, "MAX_FILE_BYTES", 400)
    run = read_run(str(root))
    warnings = run.all_warnings()
    assert any("trial_a/result.json" in w and "over the 400-byte limit" in w for w in warnings), warnings
    assert len(run.trials["trial_b"].reports) == 1
    record("a file larger than one Ray file may be (cap 1 GiB)", "not read; a warning names it; the rest is read", 0)


# --- 1. files ckpt-tui writes never follow a planted link -----------------------------------

from ckpt_tui.core import deletion  # noqa: E402
from ckpt_tui.core.deletion import execute, prepare  # noqa: E402
from ckpt_tui.core.readers import read_run  # noqa: E402

K1 = CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="loss", checkpoint_score_order="min")
K1_FLAGS = ["--num-to-keep", "1", "--score-attribute", "loss", "--score-order", "min"]
V2_K1 = ["--num-to-keep", "1", "--score-attribute", "score", "--score-order", "max"]


def tune_run(base: Path) -> Path:
    write_tune_trial(base / "trial_a", [{"loss": float(5 - i)} for i in range(5)])
    age(base)
    return base


def victim(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    target = outside / "precious.txt"
    target.write_bytes(b"precious\n")
    return target


@pytest.mark.parametrize("planted", ["state dir", "log"])
def test_a_link_at_the_state_dir_or_log_refuses_the_prune(tmp_path, planted):
    root = tune_run(tmp_path / "run")
    target = victim(tmp_path)
    if planted == "state dir":
        os.symlink(target.parent, root / ".ckpt-tui")
    else:
        (root / ".ckpt-tui").mkdir()
        os.symlink(target, root / ".ckpt-tui" / "deletions.jsonl")
    before = tree_state(tmp_path)
    code, _out, err = run_cli([root, *K1_FLAGS, "--prune", "--yes"])
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "is a symlink" in lines[0] and ".ckpt-tui" in lines[0], err
    assert tree_state(tmp_path) == before  # nothing deleted, nothing written, inside or out
    # The core refuses the same way (the app goes through it): every item skipped, with why.
    outcomes = list(execute(prepare(plan(read_run(str(root)), K1))))
    assert outcomes and all(not o.deleted and "is a symlink" in o.reason for o in outcomes)
    assert tree_state(tmp_path) == before
    record(
        f"the {planted} ({'.ckpt-tui' if planted == 'state dir' else 'deletions.jsonl'}) is a symlink "
        "to a file outside the run",
        "prune refused with one line; nothing deleted or written",
        0,
    )


def test_a_link_planted_after_the_check_is_not_followed_either(tmp_path, monkeypatch):
    """The writes refuse links themselves (directory fd, O_NOFOLLOW): a link that appears
    after the up-front check makes the log note fail, and nothing outside is written."""
    root = tune_run(tmp_path / "run")
    target = victim(tmp_path)
    request = prepare(plan(read_run(str(root)), K1))
    (root / ".ckpt-tui").mkdir()
    os.symlink(target, root / ".ckpt-tui" / "deletions.jsonl")
    monkeypatch.setattr(deletion.flow, "state_problem", lambda _path: None)
    outcomes = list(execute(request))
    assert all(o.deleted and "could not write the deletion log" in o.reason for o in outcomes)
    assert target.read_bytes() == b"precious\n"
    os.unlink(root / ".ckpt-tui" / "deletions.jsonl")
    os.rmdir(root / ".ckpt-tui")
    os.symlink(target.parent, root / ".ckpt-tui")
    assert deletion.append_log(str(root / ".ckpt-tui" / "deletions.jsonl"), {"x": 1}) is not None
    assert sorted(os.listdir(target.parent)) == ["precious.txt"]


def test_train_v2_snapshot_temp_file_is_never_opened_through_a_planted_link(tmp_path):
    """The old temp name was predictable (.checkpoint_manager_snapshot.json.ckpt-tui-tmp.PID):
    a link planted there made ckpt-tui overwrite its target. Now the temp file is created
    exclusively under a random name, never through a link."""
    root = write_v2_run(tmp_path / "v2", [1.0, 2.0, 3.0, 4.0])
    age(root)
    target = victim(tmp_path)
    planted = root / f".checkpoint_manager_snapshot.json.ckpt-tui-tmp.{os.getpid()}"
    os.symlink(target, planted)
    config = CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score", checkpoint_score_order="max")
    outcomes = list(execute(prepare(plan(read_run(str(root)), config), grace_seconds=0)))
    assert [o.deleted for o in outcomes] == [True, True, True], [o.reason for o in outcomes]
    assert target.read_bytes() == b"precious\n"
    assert os.path.islink(planted)  # left as it was
    snapshot = json.loads((root / "checkpoint_manager_snapshot.json").read_text())
    assert len(snapshot["checkpoint_results"]) == 1
    record(
        "a symlink planted at the Train v2 snapshot's temp-file name",
        "not followed: random exclusive temp name; its target untouched",
        0,
    )


def test_train_v2_snapshot_that_is_a_link_is_not_rewritten(tmp_path):
    root = write_v2_run(tmp_path / "v2", [1.0, 2.0, 3.0])
    target = tmp_path / "outside" / "snapshot.json"
    target.parent.mkdir()
    os.replace(root / "checkpoint_manager_snapshot.json", target)
    os.symlink(target, root / "checkpoint_manager_snapshot.json")
    age(root)
    before = tree_state(tmp_path)
    config = CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score", checkpoint_score_order="max")
    outcomes = list(execute(prepare(plan(read_run(str(root)), config), grace_seconds=0)))
    assert outcomes and all(not o.deleted and "is a symlink" in o.reason for o in outcomes)
    assert tree_state(tmp_path) == before


# --- 2. deletion never crosses into another filesystem --------------------------------------


def _mount(args: list[str]) -> bool:
    try:
        return subprocess.run(["mount", *args], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _umount_all_under(base: Path) -> None:
    """Unmount whatever is mounted under ``base`` (a mount moves with a renamed directory, so
    look it up in the mount table rather than trusting the path it was mounted at)."""
    prefix = os.fsencode(str(base)) + b"/"
    with open("/proc/self/mountinfo", "rb") as f:
        points = [line.split(b" ")[4] for line in f.read().splitlines() if len(line.split(b" ")) > 4]
    for point in sorted(points, key=len, reverse=True):
        if point.startswith(prefix):
            subprocess.run(["umount", "-l", os.fsdecode(point)], capture_output=True, timeout=30)


@pytest.mark.parametrize("kind", ["tmpfs", "bind"])
def test_a_filesystem_mounted_inside_a_checkpoint_is_never_touched(tmp_path, kind):
    root = tune_run(tmp_path / "run")
    ckpt = root / "trial_a" / "checkpoint_000001"
    mnt = ckpt / "mnt"
    mnt.mkdir()
    source = tmp_path / "elsewhere"
    source.mkdir()
    args = ["-t", "tmpfs", "none", str(mnt)] if kind == "tmpfs" else ["--bind", str(source), str(mnt)]
    if not _mount(args):
        pytest.skip("mounting is not permitted here")
    try:
        (mnt / "data.bin").write_bytes(b"d" * 1000)
        (mnt / "sub").mkdir()
        (mnt / "sub" / "more.bin").write_bytes(b"m" * 10)
        age(root)
        code, out, err = run_cli([root, *K1_FLAGS, "--prune", "--yes"])
        assert code == 3, (out, err)
        assert "checkpoint_000001/mnt is a mount point" in err and "nothing in this checkpoint is touched" in err
        assert (mnt / "data.bin").read_bytes() == b"d" * 1000 and (mnt / "sub" / "more.bin").exists()
        assert (ckpt / "model.bin").exists()  # the checkpoint itself stays whole
        assert sorted(p.name for p in (root / "trial_a").iterdir() if p.name.startswith("checkpoint_")) == [
            "checkpoint_000001",
            "checkpoint_000004",
        ]
    finally:
        _umount_all_under(tmp_path)
    record(
        f"a {'tmpfs' if kind == 'tmpfs' else 'bind mount'} mounted inside a checkpoint dir",
        "checkpoint skipped with the mount named; nothing on the mounted filesystem touched",
        0,
    )


def test_removal_walk_never_enters_another_device(tmp_path, monkeypatch):
    """The walk itself checks st_dev (a mount that appears after the checks): a directory on
    another device is not entered and not removed; what is above it stays, and the failure
    names it. Simulated by reporting a different st_dev for one directory."""
    top = tmp_path / "aside"
    (top / "a").mkdir(parents=True)
    (top / "a" / "f").write_bytes(b"x")
    (top / "foreign").mkdir()
    (top / "foreign" / "keep.bin").write_bytes(b"k" * 7)
    (top / "z.bin").write_bytes(b"z")
    real_stat = os.stat

    def fake_stat(path, *a, **k):
        st = real_stat(path, *a, **k)
        if path == "foreign":
            fields = list(st)
            fields[2] = st.st_dev + 1  # st_dev
            return os.stat_result(fields)
        return st

    monkeypatch.setattr(os, "stat", fake_stat)
    with pytest.raises(OSError) as info:
        deletion.remove_tree(str(top))
    monkeypatch.undo()
    assert "foreign is on another filesystem" in str(info.value)
    assert (top / "foreign" / "keep.bin").read_bytes() == b"k" * 7
    assert not (top / "a").exists() and not (top / "z.bin").exists()


# --- 4. a field of the wrong type is a warning naming file and field, never an internal error --

STATE = "experiment_state-2026-01-01_00-00-00.json"
SNAP = "checkpoint_manager_snapshot.json"


def _tune_with_state(base: Path, state) -> Path:
    write_tune_trial(base / "trial_a", [{"loss": float(3 - i)} for i in range(3)])
    (base / STATE).write_text(json.dumps(state))
    age(base)
    return base


TUNE_STATE_CASES = [
    (5, "the document"),
    ({"trial_data": 5}, "trial_data"),
    ({"trial_data": "x"}, "trial_data"),
    ({"trial_data": {"a": 1}}, "trial_data"),
    ({"trial_data": [5]}, "trial_data"),
    ({"trial_data": [[5]]}, "trial_data"),
    ({"trial_data": [[json.dumps({"relative_logdir": "trial_a", "status": 5}), "{}"]]}, "trial_data"),
    ({"trial_data": [[json.dumps([1, 2])]]}, "trial_data"),
    ({"runner_data": 5}, "runner_data"),
    ({"runner_data": {"_trial_checkpoint_config": 5}}, "CheckpointConfig"),
    ({"runner_data": {"_trial_checkpoint_config": {"value": 5}}}, "CheckpointConfig"),
    ({"runner_data": {"_trial_checkpoint_config": {"value": "zz"}}}, "CheckpointConfig"),
]


@pytest.mark.parametrize("state,field", TUNE_STATE_CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(TUNE_STATE_CASES)])
def test_wrong_types_in_experiment_state(tmp_path, state, field):
    root = _tune_with_state(tmp_path / "run", state)
    code, out, err = run_cli([root, *K1_FLAGS, "--json"])
    assert code == 0 and "internal error" not in err, err
    warnings = json.loads(out)["warnings"]
    assert any(STATE in w and field in w for w in warnings), warnings
    assert json.loads(out)["summary"]["checkpoints"] == 3  # the rest is read
    code, out, err = run_cli([root, *K1_FLAGS, "--prune", "--yes"])
    assert code == 0 and "internal error" not in err and "unexpected error" not in err, err


def _v2(base: Path, change) -> Path:
    root = write_v2_run(base, [1.0, 2.0, 3.0])
    snap = json.loads((root / SNAP).read_text())
    change(snap)
    (root / SNAP).write_text(json.dumps(snap))
    age(root)
    return root


V2_CASES = [
    ("document", lambda s: s.clear() or s.update({"__root__": 1}), "checkpoint_results"),
    ("results-int", lambda s: s.update(checkpoint_results=5), "checkpoint_results"),
    ("result-int", lambda s: s["checkpoint_results"].__setitem__(0, 5), "checkpoint_results[0]"),
    ("result-name", lambda s: s["checkpoint_results"][0].update(checkpoint_dir_name=5), "checkpoint_results[0]"),
    ("result-metrics", lambda s: s["checkpoint_results"][0].update(metrics=5), "checkpoint_results[0]"),
    ("indices-str", lambda s: s.update(checkpoint_report_indices="x"), "checkpoint_report_indices"),
    ("indices-strs", lambda s: s.update(checkpoint_report_indices=["a", "b", "c"]), "checkpoint_report_indices"),
    ("latest-int", lambda s: s.update(latest_checkpoint_result=5), "latest_checkpoint_result"),
    (
        "latest-name",
        lambda s: s["latest_checkpoint_result"].update(checkpoint_dir_name=5),
        "latest_checkpoint_result.checkpoint_dir_name",
    ),
    (
        "latest-metrics",
        lambda s: (s["checkpoint_results"].pop(), s["latest_checkpoint_result"].update(metrics=5)),
        "latest_checkpoint_result.metrics",
    ),
    (
        "current-index",
        lambda s: (
            s["checkpoint_results"].pop(),
            s["checkpoint_report_indices"].pop(),
            s.update(current_report_index="x"),
        ),
        "current_report_index",
    ),
]


@pytest.mark.parametrize("change,field", [c[1:] for c in V2_CASES], ids=[c[0] for c in V2_CASES])
def test_wrong_types_in_the_train_v2_snapshot(tmp_path, change, field):
    root = _v2(tmp_path / "v2", change)
    code, out, err = run_cli([root, *V2_K1, "--json"])
    assert code == 0 and "internal error" not in err, err
    warnings = json.loads(out)["warnings"]
    assert any(SNAP in w and field in w for w in warnings), warnings
    assert json.loads(out)["summary"]["checkpoints"] == 3  # every dir still listed
    code, out, err = run_cli([root, *V2_K1, "--prune", "--yes", "--grace", "0"])
    assert code in (0, 3) and "internal error" not in err and "unexpected error" not in err, err


@pytest.mark.parametrize(
    "field,value", [("checkpoint_dir_name", 5), ("checkpoint_dir_name", ["x"]), ("training_iteration", "x")]
)
def test_wrong_types_in_result_json_and_params(tmp_path, field, value):
    root = tmp_path / "run"
    write_tune_trial(root / "trial_a", [{"loss": float(3 - i)} for i in range(3)])
    lines = (root / "trial_a" / "result.json").read_text().splitlines()
    obj = json.loads(lines[1])
    obj[field] = value
    lines[1] = json.dumps(obj)
    (root / "trial_a" / "result.json").write_text("\n".join(lines) + "\n")
    (root / "trial_a" / "params.json").write_text("5")
    code, out, err = run_cli([root, *K1_FLAGS, "--json"])
    assert code == 0, err
    warnings = json.loads(out)["warnings"]
    assert any("result.json line 2" in w and field in w for w in warnings), warnings
    assert any("params.json" in w and "an int, expected an object" in w for w in warnings), warnings
    record(
        "wrong JSON types in experiment_state (trial_data: 5, ...), the Train v2 snapshot (a string "
        "for an index, ...), result.json and params.json",
        "a warning naming file and field; the rest read",
        0,
    )


# --- 8. smaller things --------------------------------------------------------------------


def test_a_second_prune_within_grace_is_not_refused_by_our_own_snapshot_rewrite(tmp_path):
    root = write_v2_run(tmp_path / "v2", [1.0, 2.0, 3.0, 4.0, 5.0])
    age(root)
    flags = ["--score-attribute", "score", "--score-order", "max", "--prune", "--yes"]
    code, out, err = run_cli([root, "--num-to-keep", "3", *flags])
    assert code == 0 and sum(line.startswith("deleted ") for line in out.splitlines()) == 2, (out, err)
    code, out, err = run_cli([root, "--num-to-keep", "1", *flags])  # default grace: 60 s
    assert code == 0 and sum(line.startswith("deleted ") for line in out.splitlines()) == 2, (out, err)
    assert "looks active" not in err
    record(
        "a second Train v2 prune right after the first (within --grace)",
        "not refused: ckpt-tui's own snapshot rewrite keeps Ray's time and is not activity",
        0,
    )


def test_leftover_snapshot_temp_files_are_listed_and_removed_like_aside_dirs(tmp_path):
    root = write_v2_run(tmp_path / "v2", [1.0, 2.0, 3.0])
    old_style = root / ".checkpoint_manager_snapshot.json.ckpt-tui-tmp.999999"  # no such pid
    new_style = root / ".checkpoint_manager_snapshot.json.ckpt-tui-tmp.999998.a1b2c3d4e5f6"
    old_style.write_text("{partial")
    new_style.write_text("{partial")
    age(root)
    code, out, err = run_cli([root, "--json"])
    assert sorted(json.loads(out)["leftovers"]) == sorted([str(old_style), str(new_style)])
    code, out, err = run_cli([root, "--num-to-keep", "none", "--prune", "--yes"])
    assert code == 0, err
    assert "2 leftovers" in out and not old_style.exists() and not new_style.exists()
    assert (root / "checkpoint_manager_snapshot.json").exists()
    record(
        "a killed Train v2 prune left .checkpoint_manager_snapshot.json.* temp files",
        "listed under leftovers (--json) and removed by --prune after confirming",
        0,
    )


def _dry_run_deletes(out: str) -> set[str]:
    return {
        line.split("  ")[0][len("would delete ") :] for line in out.splitlines() if line.startswith("would delete ")
    }


def test_restore_point_shows_as_kept_in_json_and_dry_run_as_the_prune_then_does(tmp_path, ray_run):
    """experiment_state is behind result.json (Tune saves it periodically): the restore point
    it names is checkpoint_000007, the plan's latest is 000009. The plan deletes 000007; the
    prune never does. --json and --dry-run now say so, with the reason."""
    root = ray_run("keep_all")
    for trial in sorted(p for p in root.iterdir() if p.name.startswith("trainable_")):
        lines = (trial / "result.json").read_text().splitlines()
        last = json.loads(lines[-1].replace("NaN", "null"))
        for i in (8, 9):
            (trial / f"checkpoint_{i:06d}").mkdir()
            (trial / f"checkpoint_{i:06d}" / "x").write_text("x")
            lines.append(
                json.dumps(
                    {**last, "loss": 0.1, "checkpoint_dir_name": f"checkpoint_{i:06d}", "training_iteration": i + 1}
                )
            )
        (trial / "result.json").write_text("\n".join(lines) + "\n")
    age(root)
    # A live run: rows newer than the state on a RUNNING trial are pending registrations
    # (issue 9), so 000009 is the plan's latest while the state still restores from 000007.
    for trial in root.iterdir():
        if trial.name.startswith("trainable_"):
            mark_running(root, trial.name)
    flags = ["--num-to-keep", "1", "--score-attribute", "none"]
    code, out, err = run_cli([root, *flags, "--json"])
    doc = json.loads(out)
    sevens = [r for r in doc["checkpoints"] if r["name"] == "checkpoint_000007"]
    # Kept by the plan itself now (issue 9 protects restore points in the plan), reason named.
    assert len(sevens) == 3 and all(r["keep"] and "restore" in r["reason"] for r in sevens)
    assert doc["summary"]["delete"] == sum(not r["keep"] for r in doc["checkpoints"])
    code, dry, err = run_cli([root, *flags, "--prune", "--dry-run"])
    would = _dry_run_deletes(dry)
    assert not any(p.endswith("checkpoint_000007") for p in would)
    assert sum(line.startswith("would delete ") for line in dry.splitlines()) == doc["summary"]["delete"] > 0
    assert would == {r["path"] for r in doc["checkpoints"] if not r["keep"]}
    code, out, err = run_cli([root, *flags, "--prune", "--yes"])
    assert code == 0, err  # nothing skipped: the plan said what the prune does
    assert {
        line[len("deleted ") :].rsplit(" (", 1)[0] for line in out.splitlines() if line.startswith("deleted ")
    } == would
    record(
        "the restore point experiment_state names is older than the plan's latest",
        "--json and --dry-run show it kept (reason: Tune restores from it), as the prune then does",
        0,
    )


def test_checkpoints_outside_the_run_show_as_kept(tmp_path):
    base = tmp_path / "run"
    tune_run(base)
    outside = tmp_path / "elsewhere"
    write_tune_trial(outside / "trial_b", [{"loss": float(5 - i)} for i in range(5)])
    os.symlink(outside / "trial_b", base / "trial_b")
    age(base)
    age(outside)
    code, out, err = run_cli([base, *K1_FLAGS, "--json"])
    rows = [r for r in json.loads(out)["checkpoints"] if r["trial"] == "trial_b"]
    assert rows and all(r["keep"] for r in rows)
    assert sum("outside the run directory" in r["reason"] for r in rows) == 4
    code, dry, err = run_cli([base, *K1_FLAGS, "--prune", "--dry-run"])
    assert not any("trial_b" in p for p in _dry_run_deletes(dry)) and len(_dry_run_deletes(dry)) == 4
    before = tree_state(outside)
    code, out, err = run_cli([base, *K1_FLAGS, "--prune", "--yes"])
    assert code == 0, err
    assert tree_state(outside) == before
    record(
        "a trial dir symlinked to a dir outside the run",
        "--json and --dry-run show its checkpoints kept (reason: outside the run); the prune touches nothing there",
        0,
    )


# --- 6. never the newest checkpoint a trial still has ----------------------------------------


def test_a_trial_never_ends_with_nothing_when_the_kept_ones_are_already_gone(tmp_path):
    root = tune_run(tmp_path / "run")
    trial = root / "trial_a"
    shutil.rmtree(trial / "checkpoint_000004")  # the best and the latest: gone (a partial copy)
    shutil.rmtree(trial / "checkpoint_000003")
    age(root)
    code, out, err = run_cli([root, *K1_FLAGS, "--json"])
    rows = {r["name"]: r for r in json.loads(out)["checkpoints"]}
    assert (
        rows["checkpoint_000002"]["keep"]
        and "newest checkpoint of its trial still on disk" in rows["checkpoint_000002"]["reason"]
    )
    assert not rows["checkpoint_000001"]["keep"] and not rows["checkpoint_000000"]["keep"]
    code, out, err = run_cli([root, *K1_FLAGS, "--prune", "--yes"])
    assert code == 0, err
    assert sorted(p.name for p in trial.iterdir() if p.name.startswith("checkpoint_")) == ["checkpoint_000002"]
    # The core refuses too, whatever the request says (the app's dialog goes through it).
    root2 = tune_run(tmp_path / "run2")
    shutil.rmtree(root2 / "trial_a" / "checkpoint_000004")
    p = plan(read_run(str(root2)), K1)
    newest = next(c for c in p.run.trials["trial_a"].checkpoints if c.name == "checkpoint_000003")
    [o] = execute(prepare(p, [newest]))
    assert not o.deleted and "newest checkpoint of its trial still on disk" in o.reason
    assert (root2 / "trial_a" / "checkpoint_000003").is_dir()
    record(
        "the checkpoints the plan keeps are already gone from disk (partial copy)",
        "the newest one still on disk is kept, with the reason; the trial keeps one",
        0,
    )


def test_a_link_at_the_snapshot_backup_name_is_not_followed(tmp_path, monkeypatch):
    """The backup's name is predictable to the microsecond: a link planted there is refused
    (the snapshot is then not rewritten, so nothing is deleted) and its target untouched."""
    from datetime import datetime as real_datetime
    from datetime import timezone

    fixed = real_datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)

    class FixedDatetime(real_datetime):
        @classmethod
        def now(cls, tz=None):
            return fixed

    monkeypatch.setattr(deletion.train_v2_snapshot, "datetime", FixedDatetime)
    root = write_v2_run(tmp_path / "v2", [1.0, 2.0, 3.0])
    age(root)
    target = victim(tmp_path)
    (root / ".ckpt-tui").mkdir()
    os.symlink(target, root / ".ckpt-tui" / "checkpoint_manager_snapshot.json.20260102T030405.678901Z.bak")
    before = tree_state(tmp_path)
    config = CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="score", checkpoint_score_order="max")
    outcomes = list(execute(prepare(plan(read_run(str(root)), config), grace_seconds=0)))
    assert outcomes and all(not o.deleted and "is a symlink" in o.reason for o in outcomes), [
        o.reason for o in outcomes
    ]
    assert tree_state(tmp_path) == before
    record(
        "a symlink planted at the snapshot backup's name in .ckpt-tui",
        "refused: the snapshot is not rewritten, nothing deleted, the link's target untouched",
        0,
    )
