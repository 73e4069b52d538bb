"""Every action of the app in one table: the bindings, the help screen and the command palette
are all built from it, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    keys: str  # Textual key names, comma-separated
    shown: str  # how the help screen writes the keys
    action: str
    title: str  # short: footer and palette
    help: str  # one line: help screen and palette
    footer: bool = False


ACTIONS: list[Action] = [
    Action("plus,equals_sign", "+", "keep_more", "Keep +1", "raise num_to_keep by one", True),
    Action("minus", "-", "keep_fewer", "Keep -1", "lower num_to_keep by one (down to 1)", True),
    Action("n", "n", "type_num_to_keep", "Type N", "type num_to_keep (a number, or 'all')"),
    Action("a", "a", "keep_all", "Keep all", "set num_to_keep to None: keep every checkpoint"),
    Action("s", "s", "choose_attribute", "Score", "choose the score attribute from the run's metrics", True),
    Action("o", "o", "toggle_order", "Max/min", "toggle checkpoint_score_order between max and min", True),
    Action("r", "r", "reset_config", "Reset", "reset to the run's own CheckpointConfig"),
    Action(
        "c",
        "c",
        "copy_config",
        "Copy",
        "copy the CheckpointConfig(...) line (the current one is printed on exit)",
        True,
    ),
    Action(
        "u",
        "u",
        "toggle_untracked",
        "Untracked",
        "delete / keep checkpoints Ray does not track (Ray never deletes them; off by default)",
    ),
    Action("p", "p", "toggle_pin", "Pin", "pin / unpin the highlighted checkpoint: no plan deletes it", True),
    Action("d", "d", "delete", "Delete", "delete what the table marks ✗ delete, after confirming", True),
    Action("m", "m", "choose_columns", "Columns", "add / remove metric columns"),
    Action(
        "S", "S", "choose_sort", "Sort", "sort the table by score, iteration, size, age or trial (again: reverse)", True
    ),
    Action("slash", "/", "filter", "Filter", "filter the table by trial or path", True),
    Action("escape", "escape", "clear_filter", "Clear filter", "clear the filter (again: back to every trial)"),
    Action("t", "t", "toggle_trials", "Trials", "show / hide the trial pane"),
    Action("left_square_bracket", "[", "previous_trial", "Prev trial", "show the previous trial only"),
    Action("right_square_bracket", "]", "next_trial", "Next trial", "show the next trial only"),
    Action("A", "A", "all_trials", "All trials", "show every trial's checkpoints"),
    Action("w", "w", "show_warnings", "Warnings", "list the run's and the plan's warnings"),
    Action("L", "L", "show_log", "Log", "this session's deletions: what was deleted, skipped or failed, and why"),
    Action("R", "R", "refresh_now", "Refresh", "look for changes now (a run on S3/GCS is polled: this polls at once)"),
    Action("question_mark", "?", "help", "Help", "this help", True),
    Action(
        "q",
        "q / ctrl+c",
        "quit",
        "Quit",
        "quit, printing the current CheckpointConfig line (during a deletion: asks first)",
        True,
    ),
]

# Keys handled by the tables themselves; listed on the help screen only.
TABLE_KEYS: list[tuple[str, str]] = [
    ("j / k, ↓ / ↑", "move the cursor"),
    ("space, PgDn / PgUp", "page down / up"),
    ("g / G, Home / End", "first / last row"),
    ("h / l, ← / →", "scroll columns"),
    ("tab", "switch between the trial pane and the table"),
    ("click a header", "sort the table by that column (again: reverse)"),
    ("ctrl+p", "command palette: every action by name"),
]


# The footer shows its keys in this order, as many as fit: help and quit first, so that they
# are on screen at 80 columns.
FOOTER_FIRST = ["help", "quit", "delete", "keep_more", "keep_fewer", "choose_attribute", "toggle_order"]


def bindings() -> list[Binding]:
    def place(a: Action) -> int:
        return FOOTER_FIRST.index(a.action) if a.action in FOOTER_FIRST else len(FOOTER_FIRST)

    return [Binding(a.keys, a.action, a.title, show=a.footer) for a in sorted(ACTIONS, key=place)] + [QUIT_ANYWHERE]


# ctrl+c quits like q, from anywhere (the filter input, the palette and dialogs included): people
# quit htop, k9s and ncdu with it, and it replaces Textual's "press ctrl+q to quit" hint. Escape
# then q, typed within the terminal's escape delay (a script, a paste, a slow SSH link), arrives
# as one alt+q: it means "close this, then quit", so it quits too instead of typing a q into the
# palette's search. Shared by the main app and the storage root's overview.
QUIT_ANYWHERE = Binding("ctrl+c,alt+q", "quit", "Quit", show=False, priority=True)
