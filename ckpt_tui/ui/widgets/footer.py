"""The key footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

from ckpt_tui.ui.textual_compat import mark_footer_bindings_ready


class KeyFooter(Footer):
    """Textual's Footer rebuilds its key widgets (a layout of the whole screen) every time the
    bindings are recomputed: after every dialog closes and on focus moves. Here it does so
    only when what it would show differs from what it shows."""

    _shown: object = None

    def _signature(self, screen: Screen) -> object:
        shown = tuple(
            (binding.key, binding.description, binding.action, binding.key_display, enabled, tooltip)
            for (_node, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show
        )
        return shown, self.show_command_palette, self.compact, self.combine_groups

    def bindings_changed(self, screen: Screen) -> None:
        mark_footer_bindings_ready(self)  # what Footer.bindings_changed does first
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            signature = self._signature(screen)
            if signature == self._shown:
                return
            self._shown = signature
            self.call_after_refresh(self.recompose)
