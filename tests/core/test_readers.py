"""Readers on the real Ray runs and on the messes real runs contain."""

from __future__ import annotations

import json
import os

import pytest

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import TRAIN_V2, TUNE, TUNE_TRIAL, RunError
from ckpt_tui.core.pickle_reader import read_checkpoint_config, read_plain
from ckpt_tui.core.readers import detect_layout, read_run, reread
from tests.conftest import RAY_RUNS, write_tune_run


def test_tune_experiment_fields():
    run = read_run(str(RAY_RUNS / "keep_all"))
    assert run.layout == TUNE
    assert len(run.trials) == 3
    trial = run.trials[sorted(run.trials)[0]]
    assert trial.status == "TERMINATED"
    assert trial.params == {"iters": 8, "missing": True, "seed": 1}
    assert [c.name for c in trial.checkpoints] == [f"checkpoint_{i:06d}" for i in range(8)]
    c = trial.checkpoints[1]
    assert os.path.isabs(c.path) and c.path.endswith("checkpoint_000001")
    assert c.index == 1 and c.iteration == 2
    assert c.report.metrics["loss"] == 0.4495 and c.report.metrics["nested"] == {"val": 2.89}
    assert c.size_bytes == 2048 and c.file_count == 1  # the files under it, not the dir entries
    assert c.mtime > 0


def test_single_trial_dir_given_directly():
    trial_dir = next(p for p in (RAY_RUNS / "keep_all").iterdir() if p.name.startswith("trainable_"))
    run = read_run(str(trial_dir))
    assert run.layout == TUNE_TRIAL
    assert run.checkpoint_count == 8
    assert run.run_config == CheckpointConfig(checkpoint_at_end=False)  # from the parent's state


def test_train_v2_layout():
    run = read_run(str(RAY_RUNS / "train_v2_k2_score_max"))
    assert run.layout == TRAIN_V2 and run.run_config is None
    (trial,) = run.trials.values()
    assert [c.report.report_index for c in trial.checkpoints] == [0, 2, 3]
    assert all(c.size_bytes == 1 for c in trial.checkpoints)


def test_run_config_is_read_without_unpickling(monkeypatch):
    import pickle

    def forbidden(*a, **k):
        raise AssertionError("pickle.loads must never be called")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    run = read_run(str(RAY_RUNS / "k3_loss_min"))
    assert run.run_config.num_to_keep == 3
    assert run.run_config.checkpoint_score_attribute == "loss"
    assert run.run_config.checkpoint_score_order == "min"


def test_pickle_reader_refuses_foreign_globals():
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    data = pickle.dumps(Evil(), protocol=5)
    assert read_checkpoint_config(data) is None
    assert read_checkpoint_config(b"garbage") is None
    assert read_plain(pickle.dumps({"a": [1, 2.5, None, True]}, protocol=5)) == {"a": [1, 2.5, None, True]}


@pytest.mark.parametrize(
    "path,message",
    [
        ("/definitely/not/here", "no such directory"),
    ],
)
def test_missing_dir(path, message):
    with pytest.raises(RunError, match=message):
        read_run(path)


def test_not_a_run(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(RunError, match="not a Ray run"):
        detect_layout(str(tmp_path))


def _one_trial(tmp_path, lines: list[bytes], dirs=("checkpoint_000000",)):
    run_dir = tmp_path / "run"
    trial = run_dir / "trainable_x_00000_0_2026-01-01"
    trial.mkdir(parents=True)
    for d in dirs:
        (trial / d).mkdir()
        (trial / d / "w").write_bytes(b"12345")
    (trial / "result.json").write_bytes(b"".join(lines))
    return run_dir, trial


def line(name, **metrics) -> bytes:
    return (json.dumps({**metrics, "checkpoint_dir_name": name}) + "\n").encode()


def test_messy_result_json_warns_and_reads_the_rest(tmp_path):
    run_dir, _trial = _one_trial(
        tmp_path,
        [
            line("checkpoint_000000", loss=0.5),
            b"\n",
            b"[1, 2]\n",
            b"{not json}\n",
            b'{"loss": NaN, "checkpoint_dir_name": "checkpoint_000001"}\n',
            line("checkpoint_000002", loss=0.1),
            b'{"loss": 0.3, "checkpoint_dir_na',  # being written
        ],
        dirs=("checkpoint_000000", "checkpoint_000001", "checkpoint_000003"),
    )
    run = read_run(str(run_dir))
    (t,) = run.trials.values()
    warnings = "\n".join(t.warnings)
    assert "line 2: blank line" in warnings
    assert "line 3: a JSON list, not an object" in warnings
    assert "line 4: not valid JSON" in warnings
    assert "line 5: NaN/Infinity literal" in warnings
    assert "line 7: incomplete last line" in warnings
    assert "checkpoint_000003: no report in result.json names it" in warnings
    assert "1 reported checkpoint is no longer on disk" in warnings  # checkpoint_000002
    assert all("result.json" in w or "checkpoint_000003" in w for w in t.warnings)
    assert [c.name for c in t.checkpoints] == ["checkpoint_000000", "checkpoint_000001", "checkpoint_000003"]
    assert [c.index for c in t.checkpoints] == [0, 1, None]
    assert len(t.reports) == 3  # the gone checkpoint_000002 is still history


def test_result_json_that_is_a_directory(tmp_path):
    run_dir, trial = _one_trial(tmp_path, [])
    os.remove(trial / "result.json")
    (trial / "result.json").mkdir()
    run = read_run(str(run_dir))
    (t,) = run.trials.values()
    assert any("result.json: is a directory" in w for w in t.warnings)


def test_unreadable_result_json(tmp_path, monkeypatch):
    run_dir, _trial = _one_trial(tmp_path, [line("checkpoint_000000", loss=1.0)])
    real_open = open

    def guarded_open(path, *a, **k):
        if str(path).endswith("result.json"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", guarded_open)
    run = read_run(str(run_dir))
    (t,) = run.trials.values()
    assert any("result.json: cannot read: Permission denied" in w for w in t.warnings)
    assert len(t.checkpoints) == 1  # still listed, unscored


def test_non_utf8_names(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    bad = os.path.join(os.fsencode(str(run_dir)), b"trainable_\xff_00000")
    os.mkdir(bad)
    os.mkdir(os.path.join(bad, b"checkpoint_000000"))
    with open(os.path.join(bad, b"result.json"), "wb") as f:
        f.write(line("checkpoint_000000", loss=1.0))
    run = read_run(str(run_dir))
    (t,) = run.trials.values()
    assert any("not UTF-8" in w and "\ufffd" in w for w in t.warnings)
    assert run.checkpoint_count == 1


def test_reread_only_touches_named_trials(tmp_path):
    root = write_tune_run(tmp_path / "run", [[{"m": 1.0}], [{"m": 2.0}]])
    run = read_run(str(root))
    a, b = sorted(run.trials)
    before_b = run.trials[b]
    trial_a = root / a
    (trial_a / "checkpoint_000001").mkdir()
    with open(trial_a / "result.json", "a") as f:
        f.write(json.dumps({"m": 5.0, "checkpoint_dir_name": "checkpoint_000001"}) + "\n")
    assert reread(run, {a}) == [a]
    assert len(run.trials[a].checkpoints) == 2
    assert run.trials[b] is before_b  # untouched object: not re-read
    new = root / "trainable_abcde_00002_2_seed=2_2026-01-01_00-00-00"
    write_tune_run(tmp_path / "tmp", [[{"m": 3.0}]])
    os.rename(next((tmp_path / "tmp").iterdir()), new)
    reread(run, {""})
    assert new.name in run.trials and len(run.trials) == 3


def test_reread_of_a_dir_that_is_no_trial_adds_nothing(tmp_path):
    root = write_tune_run(tmp_path / "run", [[{"m": 1.0}]])
    run = read_run(str(root))
    (root / "driver_artifacts").mkdir()
    (root / "driver_artifacts" / "notes.txt").write_text("x")
    assert reread(run, {"driver_artifacts", ""}) == []
    assert set(run.trials) == set(read_run(str(root)).trials)


# ---- the one-call parse of result.json equals reading it line by line -------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ckpt_tui.core.model import Trial  # noqa: E402
from ckpt_tui.core.readers import tune as tune_reader  # noqa: E402

_json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda children: st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)
_result_line = st.one_of(
    st.builds(
        lambda m, n: json.dumps({**m, "checkpoint_dir_name": n}),
        st.dictionaries(st.sampled_from(["loss", "acc", "s}, {x", "n"]), _json_value, max_size=3),
        st.one_of(st.none(), st.sampled_from(["checkpoint_000000", "checkpoint_000001"])),
    ),
    st.sampled_from(
        [
            "",
            "  ",
            "[1]",
            "{bad",
            '{"a": NaN, "checkpoint_dir_name": "checkpoint_000002"}',
            "}, {",
            ' {"x": 1, "checkpoint_dir_name": "checkpoint_000003"} ',
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_result_line, max_size=8), newline=st.booleans())
def test_fast_result_parse_equals_line_by_line(lines, newline):
    data = ("\n".join(lines) + ("\n" if newline else "")).encode()
    split = data.split(b"\n")
    fast = tune_reader._parse_together(data, split)
    slow = Trial(id="t", path="/t")
    tune_reader._read_results_line_by_line(slow, "result.json", split)
    if fast is None:
        return  # the reader then takes the exact path itself
    numbers, objects, skipped = fast
    assert slow.warnings == []  # the fast path only ever accepts files the exact path reads cleanly
    fast_trial = Trial(id="t", path="/t")
    tune_reader._add_reports(fast_trial, numbers, objects)
    assert [(r.checkpoint_name, r.metrics, r.line) for r in fast_trial.reports] == [
        (r.checkpoint_name, r.metrics, r.line) for r in slow.reports
    ]
    assert skipped + len(objects) == slow.report_count


def test_read_run_progressively_yields_a_growing_run(tmp_path):
    from ckpt_tui.core.readers import read_run_progressively

    root = write_tune_run(tmp_path / "run", [[{"m": float(i)}] for i in range(7)])
    seen = []
    for run in read_run_progressively(str(root), every=3):
        seen.append(len(run.trials))
    assert seen == [1, 3, 6, 7]
    full = read_run(str(root), sizes=False)
    assert list(run.trials) == list(full.trials)
    assert [c.path for c in run.checkpoints()] == [c.path for c in full.checkpoints()]
    # other layouts arrive in one piece
    assert [len(r.trials) for r in read_run_progressively(str(RAY_RUNS / "train_v2_k2_score_max"))] == [1]


def test_a_dir_that_is_no_trial_is_not_listed(tmp_path):
    root = write_tune_run(tmp_path / "run", [[{"m": 1.0}]])
    (root / "driver_artifacts").mkdir()
    (root / "driver_artifacts" / "notes.txt").write_text("x")
    (root / "empty_trial_dir_with_params").mkdir()
    (root / "empty_trial_dir_with_params" / "params.json").write_text("{}")
    run = read_run(str(root))
    assert "driver_artifacts" not in run.trials
    assert "empty_trial_dir_with_params" in run.trials  # a trial that has not reported yet


# ---- sizes summed by a second process while the reports are parsed -------------------------

from ckpt_tui.core.readers import common as readers_common  # noqa: E402


def _sizes(run) -> dict:
    return {c.path: (c.size_bytes, c.file_count, c.mtime) for c in run.checkpoints()}


def _messy_sized_run(tmp_path):
    """Trials with nested files, a symlinked checkpoint and an empty one."""
    root = write_tune_run(tmp_path / "run", [[{"loss": float(i)} for i in range(4)] for _ in range(6)])
    trial = sorted(p for p in root.iterdir() if p.is_dir())[0]
    (trial / "checkpoint_000001" / "sub").mkdir()
    (trial / "checkpoint_000001" / "sub" / "opt.bin").write_bytes(b"o" * 300)
    for f in (trial / "checkpoint_000002").iterdir():
        f.unlink()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "big.bin").write_bytes(b"b" * 5000)
    os.symlink(outside, trial / "checkpoint_000009")
    with open(trial / "result.json", "a") as f:
        f.write(json.dumps({"loss": 9.0, "checkpoint_dir_name": "checkpoint_000009", "training_iteration": 10}) + "\n")
    return root


def test_sizes_from_the_second_process_equal_those_measured_here(tmp_path, monkeypatch):
    root = _messy_sized_run(tmp_path)
    here = _sizes(read_run(str(root)))  # a small run: measured in this process
    monkeypatch.setattr(readers_common.MeasureInBackground, "MIN_ENTRIES", 0)
    measuring = readers_common.MeasureInBackground(str(root), tune_reader.CHECKPOINT_RE.pattern, True, 10)
    measured = measuring.result()
    if os.cpu_count() and os.cpu_count() > 1 and os.name == "posix" and os.uname().sysname == "Linux":
        assert measured is not None and len(measured) == 6 * 4  # the symlinked one is not walked
        assert {p: v[:3] for p, v in measured.items()} == {p: here[p] for p in measured}
    assert _sizes(read_run(str(root))) == here
    link = next(p for p in here if p.endswith("checkpoint_000009"))
    assert here[link][0] == 0  # a link is unlinked on delete, so it frees nothing


def test_sizes_are_measured_here_when_no_second_process_can_start(tmp_path, monkeypatch):
    import concurrent.futures

    root = _messy_sized_run(tmp_path)
    expected = _sizes(read_run(str(root)))

    def refuse(*args, **kwargs):
        raise OSError("no semaphores in this sandbox")

    monkeypatch.setattr(readers_common.MeasureInBackground, "MIN_ENTRIES", 0)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refuse)
    assert _sizes(read_run(str(root))) == expected
