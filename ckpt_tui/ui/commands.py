"""Command palette provider: every action of the app, searchable by name or description.

The palette reads a plain string as Textual markup: labels like ``Filter  [/]`` are built as
Content and the help is escaped, so a key written in brackets never reads as a tag."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from ckpt_tui.ui.keys import ACTIONS


def palette_label(title: str, shown: str) -> str:
    return f"{title}  [{shown}]"


class CheckpointCommands(Provider):
    def _entries(self):
        for a in ACTIONS:
            yield palette_label(a.title, a.shown), escape(a.help), a.help, partial(self.app.run_action, a.action)

    async def discover(self) -> Hits:
        for text, help_markup, _help, command in self._entries():
            yield DiscoveryHit(Content(text), command, text=text, help=help_markup)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_markup, help_text, command in self._entries():
            score = max(matcher.match(text), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, self._highlight(matcher, text), command, text=text, help=help_markup)

    @staticmethod
    def _highlight(matcher, text: str) -> Content:
        """``matcher.highlight`` without its markup parse: the label is plain text."""
        content = Content(text)
        score, offsets = matcher.fuzzy_search.match(matcher.query, text)
        if not score:
            return content
        for offset in offsets:
            if not text[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
        return content
