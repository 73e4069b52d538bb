"""The app on a run on S3 (issue 14), in Pilot, against moto's server mode: opened as the CLI
opens it, pruned through the confirm dialog, watched by polling with the adaptive interval on
screen and ``R`` to poll now."""

from __future__ import annotations

import json
import time

from ckpt_tui.cli import build_parser
from ckpt_tui.ui.launch import build_app
from ckpt_tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from tests.test_s3 import fresh_copy
from tests.test_ui_app import SIZE, wait_for


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
        assert not any(k.startswith(p[len(f"s3://{s3.name}/"):] + "/") for p in doomed for k in left)

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
