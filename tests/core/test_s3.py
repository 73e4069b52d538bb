"""Runs on S3 (issue 14), against moto's server mode (tests/s3_fixtures.py) on copies of the
real Ray runs: the same plan as on the local copy, readable errors, the missing-extra line."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

RAY_RUNS = Path(__file__).parents[1] / "ray_runs"
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def _runs() -> list[str]:
    names = [p.name for p in sorted(RAY_RUNS.iterdir()) if p.is_dir() and p.name != "round2"]
    names += [f"round2/{p.name}" for p in sorted((RAY_RUNS / "round2").iterdir()) if p.is_dir()]
    return names


def fresh_copy(tmp_path: Path, name: str) -> Path:
    """A local copy written now, as the upload is: the same ages on both sides."""
    dest = tmp_path / "local" / name
    shutil.copytree(RAY_RUNS / name, dest, copy_function=shutil.copyfile)
    return dest


def comparable(doc: dict, prefix: str) -> dict:
    """The document with the run's location taken out (and file times, which differ by the
    seconds the copy and the upload took)."""
    text = json.dumps(doc).replace(prefix, "<run>")
    doc = json.loads(text)
    for c in doc.get("checkpoints", []):
        c.pop("mtime", None)
    return doc


@pytest.mark.parametrize("name", _runs())
def test_plan_on_s3_equals_plan_on_local_copy(s3, tmp_path, name):
    local = fresh_copy(tmp_path, name)
    url = s3.upload(local, f"runs/{name}")
    for flags in ((), ("--num-to-keep", "1")):
        code_l, out_l, err_l = run_cli([local, "--json", *flags])
        code_s, out_s, err_s = run_cli([url, "--json", *flags])
        assert (code_s, err_s) == (code_l, err_l.replace(str(local), url))
        if code_l == 0:
            assert comparable(json.loads(out_s), url) == comparable(json.loads(out_l), str(local))


def test_single_trial_on_s3_equals_local(s3, tmp_path):
    local = fresh_copy(tmp_path, "keep_all")
    url = s3.upload(local, "runs/keep_all")
    trial = sorted(p.name for p in local.iterdir() if p.name.startswith("trainable_"))[1]
    code_l, out_l, _ = run_cli([local / trial, "--json", "--num-to-keep", "2"])
    code_s, out_s, _ = run_cli([f"{url}/{trial}", "--json", "--num-to-keep", "2"])
    assert code_l == code_s == 0
    doc = json.loads(out_s)
    assert doc["layout"] == "tune-trial" or doc["layout"] == json.loads(out_l)["layout"]
    assert comparable(doc, url) == comparable(json.loads(out_l), str(local))
    assert doc["summary"]["delete"] > 0 and doc["summary"]["reclaim_bytes"] > 0


def test_sizes_come_from_the_listing(s3, tmp_path):
    """Reading lists each trial once and reads its two small files: no request per object."""
    from ckpt_tui.core.readers import read_run
    from ckpt_tui.core.storage import storage_for

    local = fresh_copy(tmp_path, "keep_all")
    url = s3.upload(local, "runs/keep_all")
    fs = storage_for(url)
    before = fs.requests
    run = read_run(url)
    trials = len(run.trials)
    assert trials == 3 and len(list(run.checkpoints())) == 24
    for c in run.checkpoints():  # checkpoint_00000N holds one model.bin of (N + 1) KiB
        assert (c.size_bytes, c.file_count) == (1024 * (int(c.name[-6:]) + 1), 1)
    # the run's listing, the experiment state, ONE listing of every key under the run (one page
    # here), and per trial its result.json and params.json
    assert fs.requests - before <= 3 + 2 * trials


def test_missing_prefix_is_one_line(s3):
    code, out, err = run_cli([s3.url("no/such/run"), "--json"])
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "no such directory" in err and "s3://" in err


def test_missing_bucket_is_one_line(s3):
    code, out, err = run_cli(["s3://ckpt-no-such-bucket-here/run", "--json"])
    assert code == 1 and out == "" and err.count("\n") == 1 and "Traceback" not in err


def test_missing_extra_names_the_install_command(s3, monkeypatch):
    from ckpt_tui.core.storage import fsspec_store

    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if `pip install ckpt-tui` without [s3]
    fsspec_store.reset_stores()
    for argv in ([s3.url("run"), "--json"], [s3.url("run"), "--prune", "--dry-run"]):
        code, out, err = run_cli(argv)
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and 'pip install "ckpt-tui[s3]"' in err, err


def test_missing_gcs_extra_names_its_install_command(monkeypatch):
    from ckpt_tui.core.storage import fsspec_store

    monkeypatch.setitem(sys.modules, "gcsfs", None)
    fsspec_store.reset_stores()
    code, _out, err = run_cli(["gs://bucket/run", "--json"])
    assert code == 1 and 'pip install "ckpt-tui[gcs]"' in err and err.count("\n") == 1
