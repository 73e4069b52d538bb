"""Command palette provider: every action of the app, searchable by name or description."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ckpt_tui.ui.keys import ACTIONS


class CheckpointCommands(Provider):
    def _entries(self):
        for a in ACTIONS:
            yield f"{a.title}  [{a.shown}]", a.help, partial(self.app.run_action, a.action)

    async def discover(self) -> Hits:
        for text, help_text, command in self._entries():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, command in self._entries():
            score = max(matcher.match(text), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
