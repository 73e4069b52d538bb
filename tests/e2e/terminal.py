"""Drive the installed ``ckpt-tui`` in a real terminal: a tmux pane of a given size.

Each Terminal has its own tmux server (``tmux -L <socket>``, the socket named after this
process and a counter), so tests never see or touch anyone else's sessions, and closing it
kills only what it started. The program runs as ``sh -c 'ckpt-tui ...; echo EXIT=$?; sleep'``:
its exit status shows on the screen, and the pane stays for the test to read. stderr is never
redirected (Textual draws on it)."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional, Union

TMUX = shutil.which("tmux")
CKPT_TUI = Path(sys.executable).parent / "ckpt-tui"  # the console script pip installed
TIMEOUT = 20.0  # generous: two cores shared by several test runs must not make this flaky
BAD = ("Traceback", "internal error", "MarkupError")

_counter = itertools.count()


class Terminal:
    def __init__(self, args: list[str], *, size: tuple[int, int], cwd: Path, env: Optional[dict] = None):
        self.socket = f"ckpt-e2e-{os.getpid()}-{next(_counter)}"
        self.name = "app"
        self.size = size
        width, height = size
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        command = shlex.join([str(CKPT_TUI), *args])
        script = f"{'export ' + exports + '; ' if exports else ''}{command}; echo EXIT=$?; sleep 300"
        self._tmux(
            "new-session",
            "-d",
            "-s",
            self.name,
            "-x",
            str(width),
            "-y",
            str(height),
            "-c",
            str(cwd),
            "sh",
            "-c",
            script,
        )
        self.socket_path = self._tmux("display-message", "-p", "#{socket_path}").strip()

    def _tmux(self, *args: str) -> str:
        proc = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def screen(self, joined: bool = False) -> str:
        """The pane's text; ``joined``: lines the terminal wrapped are joined back (for what
        is printed after the app has left the screen)."""
        return self._tmux("capture-pane", "-p", *(["-J"] if joined else []), "-t", self.name)

    def press(self, *keys: str) -> None:
        """tmux key names: Escape, Enter, C-c, C-p, Tab, PageDown, Home, ..."""
        self._tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def wait_for(
        self, what: Union[str, Callable[[str], bool]], timeout: float = TIMEOUT, describe: Optional[str] = None
    ) -> str:
        """Poll the screen until it shows ``what`` (a string) or ``what(screen)`` holds; the
        screen then. Fails at once on a traceback, and with the screen after ``timeout``."""
        check = (lambda s: what in s) if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        while True:
            screen = self.screen()
            self.assert_healthy(screen)
            if check(screen):
                if os.environ.get("CKPT_E2E_TIMING"):
                    print(f"{time.monotonic() - started:6.2f}s  {describe or what!r}", file=sys.stderr)
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {describe or what!r}; the screen:\n{screen}")
            time.sleep(0.03)

    def assert_healthy(self, screen: Optional[str] = None) -> None:
        screen = self.screen() if screen is None else screen
        for bad in BAD:
            assert bad not in screen, f"{bad!r} on the screen:\n{screen}"

    def exit_status(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """Wait for the program to end: its exit status and the screen it left."""
        self.wait_for(lambda s: re.search(r"^EXIT=\d+", s, re.M) is not None, timeout, describe="the program to exit")
        screen = self.screen(joined=True)
        return int(re.search(r"^EXIT=(\d+)", screen, re.M).group(1)), screen

    def close(self) -> None:
        """Kill this terminal's own tmux server, and remove the socket file it leaves."""
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
        if self.socket_path and os.path.basename(self.socket_path) == self.socket:
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
