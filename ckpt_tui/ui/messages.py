"""Messages that carry the session's events (``ckpt_tui.session.events``) to the app.

Workers and the watcher thread never touch widgets: they call a session method, which reports
typed events, and post each wrapped in one of these (``wrap``); the app updates the screen in
its own thread. Progress messages replace their queued predecessor, so a burst collapses into
one update.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, cast

from textual.message import Message

from ckpt_tui.session import events

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@dataclass
class SizesProgress(Message):
    """Checkpoint sizes are being summed."""

    event: events.SizesProgressed

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SizesProgress)


@dataclass
class ReadProgress(Message):
    """The progressive reader has more trials queued for the app (or has finished): the app
    drains its queue. Replaces its queued predecessor, so a busy app takes them in one go."""

    event: events.ReadQueued

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ReadProgress)


@dataclass
class SizesFilled(Message):
    event: events.SizesFilled


@dataclass
class RunChanged(Message):
    event: events.TrialsChanged


@dataclass
class RunReread(Message):
    event: events.TrialsReread


@dataclass
class RereadFailed(Message):
    event: events.RereadFailed


@dataclass
class DeletionPrepared(Message):
    event: events.DeletionPrepared


@dataclass
class DeletionProgress(Message):
    event: events.DeletionProgressed


@dataclass
class DeletionFinished(Message):
    event: events.DeletionFinished


@dataclass
class WatchStatus(Message):
    event: events.WatchState


def _event_field(name: str) -> property:
    def get(self: Any) -> Any:
        return getattr(self.event, name)

    return property(get)


def _expose(cls: type[Message], event_type: type) -> None:
    """Each field of the event readable on its message too (``message.done``)."""
    for f in fields(cast("type[DataclassInstance]", event_type)):  # every key of _WRAPPERS is a dataclass
        if not hasattr(cls, f.name):
            setattr(cls, f.name, _event_field(f.name))


_WRAPPERS: dict[type, type[Message]] = {
    events.SizesProgressed: SizesProgress,
    events.ReadQueued: ReadProgress,
    events.SizesFilled: SizesFilled,
    events.TrialsChanged: RunChanged,
    events.TrialsReread: RunReread,
    events.RereadFailed: RereadFailed,
    events.DeletionPrepared: DeletionPrepared,
    events.DeletionProgressed: DeletionProgress,
    events.DeletionFinished: DeletionFinished,
    events.WatchState: WatchStatus,
}


for _event_type, _message_type in _WRAPPERS.items():
    _expose(_message_type, _event_type)


def wrap(event: object) -> Message:
    """The message that carries ``event``."""
    return _WRAPPERS[type(event)](event)  # type: ignore[call-arg]
