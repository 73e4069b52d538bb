"""Imports point one way: ui -> session/watch -> core. The core and the session never import
Textual or watchdog."""

import ast
from pathlib import Path

PKG = Path(__file__).parent.parent / "ckpt_tui"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def check(files, forbidden):
    bad = []
    for f in files:
        for mod in imported_modules(f):
            if mod.split(".")[0] in forbidden or any(mod.startswith(p) for p in forbidden if "." in p):
                bad.append(f"{f.relative_to(PKG.parent)} imports {mod}")
    return bad


def test_core_imports_neither_textual_nor_watchdog_nor_upper_layers():
    files = list((PKG / "core").rglob("*.py")) + [PKG / "demo.py"] * (PKG / "demo.py").exists()
    assert check(files, {"textual", "watchdog", "rich", "ckpt_tui.ui", "ckpt_tui.watch"}) == []


def test_the_session_imports_neither_textual_nor_watchdog_nor_the_ui_nor_the_watcher():
    """The session layer (run, locks, re-reads, plan slicing, deletion flow) is Textual-free; it
    learns of filesystem changes only from the app (``queue_reread``), never from watch."""
    files = list((PKG / "session").rglob("*.py"))
    assert files
    assert check(files, {"textual", "watchdog", "rich", "ckpt_tui.ui", "ckpt_tui.watch"}) == []


def test_watch_never_imports_the_ui():
    assert check(list((PKG / "watch").rglob("*.py")), {"textual", "ckpt_tui.ui"}) == []


def test_headless_cli_modules_do_not_import_textual_at_top_level():
    for name in ("cli.py", "prune_cli.py", "root_cli.py"):
        f = PKG / name
        if not f.exists():
            continue
        tree = ast.parse(f.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        mods = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
        mods |= {n.module for n in top if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(m.startswith(("textual", "ckpt_tui.ui", "ckpt_tui.watch")) for m in mods), name
