"""README.md's commands work in a new shell, and CI runs the test command exactly as written."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _block_after(heading: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split(heading, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, f"no bash block under {heading}"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command_exactly():
    (command,) = _block_after("## Run the tests")
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert command in ci


def test_readme_commands_need_no_activated_virtualenv():
    """A new shell has no venv active: every command names .venv/bin/ (or python3 itself)."""
    for heading in ("## Try it", "## Run the tests"):
        (command,) = _block_after(heading)
        for part in command.split("&&"):
            program = part.split()[0]
            assert program == "python3" or program.startswith(".venv/bin/"), (heading, part)
