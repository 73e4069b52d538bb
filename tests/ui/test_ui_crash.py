"""An unexpected error inside the app reaches the user as one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import RAY_RUNS

RUNS = RAY_RUNS


def test_internal_error_is_one_line_and_the_traceback_goes_to_a_file(tmp_path):
    script = textwrap.dedent(f"""
        import asyncio
        from ckpt_tui.core.readers import read_run
        from ckpt_tui.ui.app import CheckpointApp

        run = read_run({str(RUNS / "keep_all")!r})
        app = CheckpointApp(run, run.run_config, watch=False)

        def broken():
            raise RuntimeError("boom in a key handler")

        app.action_toggle_order = broken  # a bug in a key handler, as far as the app knows

        async def main():
            async with app.run_test() as pilot:
                await pilot.press("o")
                await pilot.pause()
        try:
            asyncio.run(main())
        except RuntimeError:
            pass  # run_test re-raises for test frameworks; a user's app.run() does not
        print("LINE:", app.crash_message)
    """)
    script_file = tmp_path / "broken_app.py"
    script_file.write_text(script)
    proc = subprocess.run(
        [sys.executable, str(script_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("LINE:")), proc.stdout + proc.stderr)
    assert "ckpt-tui: internal error: RuntimeError: boom in a key handler (details in " in line
    report = line.split("(details in ")[1].rstrip(")")
    assert Path(report).parent == tmp_path and "Traceback" in Path(report).read_text()
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_crash_exits_1_and_the_report_holds_the_whole_traceback(tmp_path):
    """The installed entry point (cli.main -> run_app -> app.run) on a run, with a bug in a
    worker: exit status 1, one line on stderr, the full traceback (the worker's own frames
    included) in the file the line names."""
    script = textwrap.dedent(f"""
        import sys
        from functools import partialmethod
        from textual import work
        from textual.app import App
        from ckpt_tui.cli import main
        from ckpt_tui.ui.app import CheckpointApp

        CheckpointApp.run = partialmethod(App.run, headless=True)

        @work(thread=True)
        def broken_worker(self):
            raise RuntimeError("boom in a worker")

        def on_ready(self):
            broken_worker(self)

        CheckpointApp.broken_worker = broken_worker
        CheckpointApp.on_ready = on_ready
        sys.exit(main([{str(RUNS / "keep_all")!r}]))
    """)
    script_file = tmp_path / "broken_worker.py"
    script_file.write_text(script)
    proc = subprocess.run(
        [sys.executable, str(script_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "CheckpointConfig(" not in proc.stdout  # a crash prints no config line as if all went well
    line = next(ln for ln in proc.stderr.splitlines() if "internal error" in ln)
    assert "RuntimeError: boom in a worker (details in " in line
    report = Path(line.split("(details in ")[1].rstrip(")")).read_text()
    assert "Traceback" in report and 'raise RuntimeError("boom in a worker")' in report
