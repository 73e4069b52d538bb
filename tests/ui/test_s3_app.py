"""The app on a run on S3 (issue 14), in Pilot, against moto's server mode: opened as the CLI
opens it, pruned through the confirm dialog, watched by polling with the adaptive interval on
screen and ``R`` to poll now."""

from __future__ import annotations

import json
import time

from ckpt_tui.cli import build_parser
from ckpt_tui.ui.launch import build_app
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from tests.core.test_s3 import fresh_copy
from tests.ui.test_ui_app import SIZE, wait_for


def _app(url: str, *flags: str):
    return build_app(build_parser().parse_args([url, *flags]), url)


async def test_app_over_s3_reads_prunes_and_watches(s3, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    url = s3.upload(fresh_copy(tmp_path, "keep_all"), "runs/keep_all")
    app = _app(url, "--num-to-keep", "6", "--grace", "0")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 24, what="every checkpoint")
        await wait_for(pilot, lambda: all(c.size_bytes for c in app.table.rows), what="sizes")
        await wait_for(pilot, lambda: app.watch_text.startswith("live (polling every 5s"), what="polling shown")
        doomed = {c.path for c in app.plan.to_delete()}
        assert len(doomed) == 6
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="confirm dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.deleting, what="deletion done")
        await wait_for(pilot, lambda: app.table.row_count == 18, what="table follows")
        left = s3.objects("runs/keep_all/")
        assert not any(k.startswith(p[len(f"s3://{s3.name}/") :] + "/") for p in doomed for k in left)

        # Ray goes on elsewhere: a trial's state entry changes and one of its checkpoints goes
        state_key = next(k for k in left if "/experiment_state-" in k)
        state = json.loads(s3.get(state_key))
        item = state["trial_data"][1]
        info = json.loads(item[0])
        info["status"] = "ERROR"
        item[0] = json.dumps(info)
        trial = info["relative_logdir"]
        gone = sorted(k for k in left if k.startswith(f"runs/keep_all/{trial}/checkpoint_000003/"))
        assert gone
        s3.client.delete_objects(Bucket=s3.name, Delete={"Objects": [{"Key": k} for k in gone]})
        s3.put(state_key, json.dumps(state).encode())
        await pilot.press("R")  # no waiting for the next poll
        await wait_for(pilot, lambda: app.table.row_count == 17, what="the external change shown")
        assert app.run_model.trials[trial].status == "ERROR"


def test_idle_polls_cost_one_listing(s3, tmp_path):
    """An idle run: each poll is one listing of the run's prefix, nothing else."""
    from ckpt_tui.core.model import TUNE
    from ckpt_tui.core.storage import storage_for
    from ckpt_tui.watch.object_poll import ObjectScanner, diff

    url = s3.upload(fresh_copy(tmp_path, "keep_all"), "runs/keep_all")
    scanner = ObjectScanner(storage_for(url).realpath(url), TUNE, "keep_all")
    first = scanner.scan()
    fs = storage_for(url)
    before = fs.requests
    for _ in range(5):
        assert diff(first, scanner.scan()) == set()
    assert fs.requests - before == 5


def test_interval_backs_off_while_quiet_and_resets_on_a_change():
    from ckpt_tui.watch.object_poll import AdaptivePoller

    class Scanner:
        value = 0
        _results_at = 0.0

        def scan(self):
            return (self.value, {}), {}

    scanner = Scanner()
    seen: list[float] = []
    changes: list[set] = []
    poller = AdaptivePoller(scanner, changes.append, seen.append, min_interval=0.01, max_interval=0.05)
    poller.start()
    deadline = time.monotonic() + 5
    while poller.interval < 0.05 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert poller.interval == 0.05 and seen[:2] == [0.015, 0.0225] and not changes
    scanner.value = 1
    poller.poll_now()
    while not changes and time.monotonic() < deadline:
        time.sleep(0.01)
    poller.stop()
    assert changes and "" in changes[0]
    assert 0.01 in seen  # back to the shortest interval after a change


async def test_root_app_over_s3(s3, tmp_path, monkeypatch):
    """A storage root on S3: the overview reads every experiment as the local copy reads it,
    and one confirmation deletes across experiments."""
    from ckpt_tui.core.storage_root import find_experiments
    from ckpt_tui.ui.root_app import RootApp, RootState
    from tests.root_fixtures import ROOT_EXPERIMENTS, make_root
    from tests.ui.test_ui_root import rows, settled

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    local = make_root(tmp_path)
    url = s3.upload(local, "ray_results")
    found = find_experiments(url)
    assert {e.rel for e in found} == set(ROOT_EXPERIMENTS)
    app = RootApp(RootState(url, found, {"num_to_keep": 1}), grace_seconds=0)
    local_app = RootApp(RootState(str(local), find_experiments(str(local)), {"num_to_keep": 1}))
    async with local_app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(local_app), what="local root settled")
        expected = {
            rel: (r.layout, r.trials, r.checkpoints, r.total_bytes, r.delete) for rel, r in rows(local_app).items()
        }
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: settled(app), what="S3 root settled")
        assert {
            rel: (r.layout, r.trials, r.checkpoints, r.total_bytes, r.delete) for rel, r in rows(app).items()
        } == expected
        doomed = sum(r.delete for r in app.overview.table.rows)
        assert doomed > 0
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), what="one confirmation")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: (
                not app.overview.deleting and settled(app) and sum(r.delete or 0 for r in app.overview.table.rows) == 0
            ),
            what="deleted and re-read",
        )
        assert sum(r.checkpoints for r in app.overview.table.rows) == sum(e[2] for e in expected.values()) - doomed


def test_root_json_and_prune_on_s3(s3, tmp_path, monkeypatch):
    from tests.core.test_s3 import comparable, run_cli
    from tests.root_fixtures import make_root

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    local = make_root(tmp_path)
    url = s3.upload(local, "ray_results")
    code_s, out_s, err_s = run_cli([url, "--json", "--num-to-keep", "1"])
    code_l, out_l, _ = run_cli([local, "--json", "--num-to-keep", "1"])
    assert code_s == code_l == 0, err_s
    doc_s, doc_l = json.loads(out_s), json.loads(out_l)
    for d in (doc_s, doc_l):
        for exp in d.get("experiments", []):
            for c in exp.get("checkpoints", []):
                c.pop("mtime", None)
            exp.get("summary", {}).pop("newest", None)
    assert comparable(doc_s, url) == comparable(doc_l, str(local.resolve()))
    before = s3.objects()
    code, out, err = run_cli([url, "--prune", "--yes", "--grace", "0", "--num-to-keep", "1"])
    assert code == 0, err
    after = s3.objects()
    gone = set(before) - set(after)
    deleted = [line.split()[1] for line in out.splitlines() if line.startswith("deleted ")]
    assert deleted and gone == {
        k for k in before if any(k.startswith(d[len(f"s3://{s3.name}/") :] + "/") for d in deleted)
    }
