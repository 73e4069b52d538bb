"""The session layer: one run opened in the app, without Textual.

The Session holds the run model and its lock, the CheckpointConfig being edited, the plan and
its totals, the view's filters, the re-reads waiting to run and the deletion flow. Its thread
bodies (progressive read, sizes, re-reads, prepare, execute) take an ``emit`` callback and
hand it typed, frozen events (``events``); the app wraps each in a Textual message and reacts
in its own thread. Nothing here imports Textual, watchdog or the ui package.
"""

from ckpt_tui.session.session import Session

__all__ = ["Session"]
