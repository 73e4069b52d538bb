"""The app's retention editing: num_to_keep, order, attribute, columns, pins, untracked, copy.

A mixin of ``CheckpointApp``: each action changes the session's config (or pins, or switch)
and re-plans; the plan itself is the session's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ckpt_tui.core.config import CheckpointConfig, ConfigError, parse_num_to_keep
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.ui.screens.choose_attribute import RECENCY, ChooseAttributeScreen
from ckpt_tui.ui.screens.choose_columns import ChooseColumnsScreen
from ckpt_tui.ui.screens.number_input import NumberInputScreen

if TYPE_CHECKING:  # the checker sees the app's attributes; at run time the MRO is unchanged
    from ckpt_tui.ui.app_host import AppHost as _Base
else:
    _Base = object


class ConfigActions(_Base):
    """Mixed into ``CheckpointApp`` (which provides session, table, notify, push_screen, ...)."""

    def set_config(self, **changes) -> None:
        try:
            self.config = self.config.with_changes(**changes)
        except ConfigError as exc:
            self.notify(str(exc), severity="error")
            return
        self.replan()

    def action_keep_more(self) -> None:
        n = self.config.num_to_keep
        if n is None:
            self.notify("num_to_keep is None already: every checkpoint is kept")
            return
        self.set_config(num_to_keep=n + 1)

    def action_keep_fewer(self) -> None:
        n = self.config.num_to_keep
        if n is None:
            self.set_config(num_to_keep=max(1, self.session.max_registrations() - 1))
        elif n > 1:
            self.set_config(num_to_keep=n - 1)
        else:
            self.notify("num_to_keep is 1, the least Ray accepts")

    def action_keep_all(self) -> None:
        self.set_config(num_to_keep=None)

    def action_type_num_to_keep(self) -> None:
        def done(text: Optional[str]) -> None:
            if text is not None:
                self.set_config(num_to_keep=parse_num_to_keep(text))

        self.push_screen(NumberInputScreen(self.config.num_to_keep), done)

    def action_toggle_order(self) -> None:
        self.set_config(checkpoint_score_order="min" if self.config.checkpoint_score_order == "max" else "max")
        if not self.config.checkpoint_score_attribute:
            self.notify("no score attribute: the order matters once one is chosen (s)")

    def action_reset_config(self) -> None:
        self.config = self.run_model.run_config or CheckpointConfig()
        self.replan()
        self.notify(f"reset to the run's own: {self.config.to_python()}")

    def action_copy_config(self) -> None:
        line = self.config.to_python()
        self.copied_line = line
        self.copy_to_clipboard(line)
        self.notify(f"copied {line}")

    def metric_keys(self) -> list[tuple[str, bool]]:
        """Flattened metric keys of the run's reports: (key, numeric), in the order a user wants
        them: the run's own attribute, their numeric metrics, Tune's numeric bookkeeping, the rest."""
        return self.session.metric_keys()

    def action_choose_attribute(self) -> None:
        def done(choice: Optional[str]) -> None:
            if choice is None:
                return
            self.set_config(checkpoint_score_attribute=None if choice == RECENCY else choice)

        own = self.run_model.run_config.checkpoint_score_attribute if self.run_model.run_config else None
        self.push_screen(ChooseAttributeScreen(self.metric_keys(), self.config.checkpoint_score_attribute, own), done)

    def action_choose_columns(self) -> None:
        def done(chosen: Optional[list[str]]) -> None:
            if chosen is not None:
                self.metric_columns = chosen
                self._show_rows(self._current_path())

        self.push_screen(ChooseColumnsScreen([k for k, _ in self.metric_keys()], self.metric_columns), done)

    def action_toggle_pin(self) -> None:
        ckpt = self.table.current
        if ckpt is None:
            return
        if self.session.toggle_pin(ckpt):
            self.notify(terminal_safe(f"pinned {ckpt.name}: no plan deletes it"), markup=False)
        else:
            self.notify(terminal_safe(f"unpinned {ckpt.name}"), markup=False)
        self.replan()

    def action_toggle_untracked(self) -> None:
        self.session.delete_untracked = not self.session.delete_untracked
        self.replan()
        if self.delete_untracked:
            self.notify(
                "deleting checkpoints Ray does not track (never a restore point or a trial's newest); "
                "u again to keep them"
            )
        else:
            self.notify("keeping checkpoints Ray does not track, as Ray does")
