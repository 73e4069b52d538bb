"""--prune on S3 (issue 14): exactly the planned keys go, every other object is unchanged; the
checks right before deleting (re-list and compare keys, sizes, ETags); failures part-way;
Train v2's snapshot rewritten only if unchanged, backup first. Against moto's server mode."""

from __future__ import annotations

import json

import pytest

from tests.core.test_s3 import RAY_RUNS, fresh_copy, run_cli

K1 = ("--num-to-keep", "1")


def planned_prefixes(url: str, *flags: str) -> list[str]:
    code, out, err = run_cli([url, "--json", *flags])
    assert code == 0, err
    return [c["path"] for c in json.loads(out)["checkpoints"] if not c["keep"]]


def keys_under(objects: dict, bucket: str, urls: list[str]) -> set[str]:
    prefixes = [u[len(f"s3://{bucket}/") :] + "/" for u in urls]
    return {k for k in objects if any(k.startswith(p) for p in prefixes)}


@pytest.mark.parametrize(
    "name", ["keep_all", "k3_loss_min", "round2/s4_pbt", "train_v2_k2_score_max", "round2/s6_v2_rank0"]
)
def test_prune_deletes_exactly_the_planned_keys(s3, tmp_path, name, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    local = fresh_copy(tmp_path, name)
    url = s3.upload(local, f"runs/{name}")
    before = s3.objects()
    planned = planned_prefixes(url, *K1, "--grace", "0")
    gone_expected = keys_under(before, s3.name, planned)
    code, out, err = run_cli([url, "--prune", "--yes", "--grace", "0", *K1])
    after = s3.objects()
    gone = set(before) - set(after)
    # The same prune on the local copy deletes the same checkpoints
    code_l, out_l, err_l = run_cli([local, "--prune", "--yes", "--grace", "0", *K1])
    assert code == code_l, (err, err_l)
    deleted_s3 = sorted(line.split()[1][len(url) :] for line in out.splitlines() if line.startswith("deleted "))
    deleted_l = sorted(line.split()[1][len(str(local)) :] for line in out_l.splitlines() if line.startswith("deleted "))
    assert deleted_s3 == deleted_l
    if code == 0:
        assert gone == gone_expected and gone
    else:  # some refused (as locally): only keys of deleted checkpoints went
        assert gone <= gone_expected
    snapshot_key = f"runs/{name}/checkpoint_manager_snapshot.json"
    for key, (size, etag) in after.items():
        if key.startswith(f"runs/{name}/.ckpt-tui/") or key == snapshot_key:
            continue
        assert before[key] == (size, etag), key  # every other object unchanged
    new = {k for k in after if k not in before}
    assert all(k.startswith(f"runs/{name}/.ckpt-tui/") for k in new)
    assert any("/.ckpt-tui/deletions/" in k for k in new)  # the journal in the run's prefix
    assert not any("/.ckpt-tui/deleting/" in k for k in new)  # no marker left: none partial
    assert (tmp_path / "state" / "ckpt-tui" / "s3").is_dir()  # and the local journal
    if snapshot_key in before:
        snap = json.loads(s3.get(snapshot_key))
        listed = {r["checkpoint_dir_name"] for r in snap["checkpoint_results"]}
        assert not any(p.rsplit("/", 1)[-1] in listed for p in planned)
        backups = [k for k in new if k.endswith(".bak")]
        assert len(backups) == 1
        assert s3.get(backups[0]) == (RAY_RUNS / name / "checkpoint_manager_snapshot.json").read_bytes()
    # A second read sees the pruned run as the local copy's second read does
    doc = json.loads(run_cli([url, "--json", *K1])[1])
    doc_l = json.loads(run_cli([local, "--json", *K1])[1])
    assert doc["summary"] == doc_l["summary"]
    assert not any("partly deleted" in w for w in doc["warnings"])


def _prepared(url: str, grace: float = 0.0):
    from ckpt_tui.core.config import CheckpointConfig
    from ckpt_tui.core.deletion import prepare
    from ckpt_tui.core.readers import read_run
    from ckpt_tui.core.retention import plan

    run = read_run(url)
    p = plan(run, (run.run_config or CheckpointConfig()).with_changes(num_to_keep=1))
    return prepare(p, grace_seconds=grace)


def test_object_added_after_confirmation_is_left(s3, tmp_path, monkeypatch):
    from ckpt_tui.core.deletion import execute

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    url = s3.upload(fresh_copy(tmp_path, "keep_all"), "runs/keep_all")
    request = _prepared(url)
    victim, changed, *rest = request.items
    key = lambda item, rel: item.path[len(f"s3://{s3.name}/") :] + "/" + rel  # noqa: E731
    s3.put(key(victim, "extra.bin"), b"written after the confirmation")
    s3.put(key(changed, "model.bin"), b"y" * changed.bytes)  # same size, new content: new ETag
    before = s3.objects()
    outcomes = {o.path: o for o in execute(request)}
    assert not outcomes[victim.path].deleted and "changed since you confirmed" in outcomes[victim.path].reason
    assert "1 added" in outcomes[victim.path].reason
    assert not outcomes[changed.path].deleted and "1 rewritten" in outcomes[changed.path].reason
    after = s3.objects()
    for item in (victim, changed):  # left whole
        prefix = key(item, "")
        assert {k: v for k, v in after.items() if k.startswith(prefix)} == {
            k: v for k, v in before.items() if k.startswith(prefix)
        }
    assert all(outcomes[i.path].deleted for i in rest)


def test_delete_that_fails_part_way_is_listed_as_partly_deleted(s3, tmp_path, monkeypatch):
    from ckpt_tui.core.deletion import execute
    from ckpt_tui.core.storage import storage_for

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    local = fresh_copy(tmp_path, "keep_all")
    for d in local.glob("*/checkpoint_*"):  # two objects per checkpoint
        (d / "optimizer.bin").write_bytes(b"o" * 100)
    url = s3.upload(local, "runs/keep_all")
    request = _prepared(url)
    victim = request.items[0]
    fs = storage_for(url)
    real_call = fs.fs.call_s3

    def half_fails(method, *args, **kwargs):
        """DeleteObjects removes the first key and reports AccessDenied for the rest, as S3
        does when a policy denies some keys."""
        if (
            method == "delete_objects"
            and len(kwargs["Delete"]["Objects"]) > 1
            and kwargs["Delete"]["Objects"][0]["Key"].startswith(victim.path[len(f"s3://{s3.name}/") :])
        ):
            objs = kwargs["Delete"]["Objects"]
            real_call(method, Bucket=kwargs["Bucket"], Delete={"Objects": objs[:1], "Quiet": True})
            return {"Errors": [{"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"} for o in objs[1:]]}
        return real_call(method, *args, **kwargs)

    monkeypatch.setattr(fs.fs, "call_s3", half_fails)
    outcomes = list(execute(request))
    first = outcomes[0]
    assert not first.deleted and "partly deleted: 1 of 2 objects removed, 1 remain" in first.reason
    assert "AccessDenied" in first.reason
    monkeypatch.undo()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    # The next read says so, and the next prune finishes it
    code, out, err = run_cli([url, "--json", *K1])
    doc = json.loads(out)
    assert any(
        w.startswith(victim.path) and "partly deleted by ckpt-tui (1 object left)" in w for w in doc["warnings"]
    ), doc["warnings"]
    code, out, err = run_cli([url, "--prune", "--yes", "--grace", "0", *K1])
    assert f"deleted {victim.path}" in out, (out, err)
    left = s3.objects(victim.path[len(f"s3://{s3.name}/") :] + "/")
    assert not left
    code, out, err = run_cli([url, "--json", *K1])
    assert code == 0, err
    assert not any("partly deleted" in w for w in json.loads(out)["warnings"])


def test_delete_that_fails_entirely_leaves_it_whole(s3, tmp_path, monkeypatch):
    from ckpt_tui.core.deletion import execute
    from ckpt_tui.core.storage import storage_for

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    url = s3.upload(fresh_copy(tmp_path, "keep_all"), "runs/keep_all")
    request = _prepared(url)
    fs = storage_for(url)
    real_call = fs.fs.call_s3

    def denied(method, *args, **kwargs):
        if method == "delete_objects" and "/.ckpt-tui/" not in kwargs["Delete"]["Objects"][0]["Key"]:
            raise PermissionError("Access Denied")
        return real_call(method, *args, **kwargs)

    monkeypatch.setattr(fs.fs, "call_s3", denied)
    before = s3.objects()
    outcomes = list(execute(request))
    assert outcomes and all(not o.deleted and "nothing removed, left whole" in o.reason for o in outcomes)
    after = s3.objects()
    assert {k: v for k, v in after.items() if "/.ckpt-tui/" not in k} == before
    assert not any("/.ckpt-tui/deleting/" in k for k in after)


def test_v2_snapshot_changed_while_deleting_is_not_rewritten(s3, tmp_path, monkeypatch):
    from ckpt_tui.core.deletion import execute
    from ckpt_tui.core.storage import storage_for

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    local = fresh_copy(tmp_path, "train_v2_k2_score_max")
    url = s3.upload(local, "runs/v2")
    request = _prepared(url)
    assert request.items
    fs = storage_for(url)
    real_read = fs.read_file
    snap_key = "runs/v2/checkpoint_manager_snapshot.json"

    def ray_writes_meanwhile(path, limit=None):
        data = real_read(path, limit)
        if path.endswith("checkpoint_manager_snapshot.json"):
            s3.put(snap_key, data + b" ")  # Ray rewrote it right after we read it
        return data

    monkeypatch.setattr(fs, "read_file", ray_writes_meanwhile)
    before = s3.objects()
    outcomes = list(execute(request))
    assert all(not o.deleted for o in outcomes)
    assert "changed" in outcomes[0].reason and "checkpoint_manager_snapshot.json" in outcomes[0].reason
    after = s3.objects()
    assert {k for k in after if "/.ckpt-tui/" not in k} == set(before)
    assert s3.get(snap_key).endswith(b" ")  # Ray's write stands


def test_versioned_bucket_says_deleted_versions_still_cost(s3, tmp_path):
    url = s3.upload(fresh_copy(tmp_path, "keep_all"), "runs/keep_all")
    code, _out, err = run_cli([url, "--prune", "--dry-run", *K1])
    assert code == 0 and "versioning" not in err
    s3.client.put_bucket_versioning(Bucket=s3.name, VersioningConfiguration={"Status": "Enabled"})
    code, _out, err = run_cli([url, "--prune", "--dry-run", *K1])
    assert code == 0
    assert f"note: bucket {s3.name} has versioning enabled: deleted objects stay as noncurrent versions" in err
    assert "still cost" in err
