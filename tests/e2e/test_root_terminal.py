"""End to end in a real terminal (a pty): ``ckpt-tui ROOT`` opens the overview, Enter opens an
experiment in the main screen, escape comes back, q quits with exit 0; ``ckpt-tui EMPTY_DIR``
waits and opens the run once Ray writes it."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.root_fixtures import RAY_RUNS, make_root

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1b\][^\x07]*\x07")


class Terminal:
    def __init__(self, *args: str, cols: int = 140, rows: int = 35) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ckpt_tui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def read(self, seconds: float = 0.1) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    return

    def text(self) -> str:
        return ANSI.sub(b"", self.seen).decode("utf-8", "replace")

    def expect(self, needle: str, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while needle not in self.text():
            if time.monotonic() > end:
                raise AssertionError(f"{needle!r} never appeared; last output: {self.text()[-1500:]!r}")
            self.read(0.1)

    def send(self, data: str) -> None:
        os.write(self.master, data.encode())

    def clear(self) -> None:
        self.seen = b""

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=15)
        finally:
            os.close(self.master)


@pytest.mark.skipif(sys.platform != "linux", reason="a Linux pty")
def test_root_overview_drill_in_back_and_quit(tmp_path):
    root = make_root(tmp_path)
    term = Terminal(str(root))
    try:
        term.expect("storage root")
        term.expect("sweeps/2026/k3_loss_min")
        term.read(1.0)
        term.send("S" * 5)  # sort by path: keep_all first
        term.read(0.5)
        term.clear()
        term.send("\r")
        term.expect("run ")  # the main screen's summary
        term.expect("CheckpointConfig(")
        term.clear()
        term.send("\x1b")
        term.expect("storage root")
        term.read(0.5)
        term.send("q")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()


@pytest.mark.skipif(sys.platform != "linux", reason="a Linux pty")
def test_empty_dir_waits_then_opens_the_run(tmp_path):
    exp = tmp_path / "experiment"
    exp.mkdir()
    term = Terminal(str(exp))
    try:
        term.expect("No Ray run")
        term.clear()
        for item in (RAY_RUNS / "k3_loss_min").iterdir():
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, exp / item.name)
        term.expect("CheckpointConfig(num_to_keep=3")
        term.read(0.5)
        term.send("q")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
