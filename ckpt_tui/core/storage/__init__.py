"""One storage interface for local paths and object stores (see base.py).

``storage_for(path)`` picks the implementation: a plain path is the local filesystem; a URL
(``s3://``, ``gs://``, any fsspec protocol) an fsspec filesystem, imported only then (the
optional extras ``ckpt-tui[s3]`` / ``ckpt-tui[gcs]``)."""

from __future__ import annotations

from ckpt_tui.core.storage.base import Entry, Listing, MissingExtra, StatResult, Storage
from ckpt_tui.core.storage.local import LOCAL, LocalStorage

__all__ = [
    "Entry",
    "Listing",
    "MissingExtra",
    "StatResult",
    "Storage",
    "LocalStorage",
    "LOCAL",
    "storage_for",
    "is_url",
    "url_scheme",
]


def url_scheme(path) -> str:
    """``"s3"`` for ``s3://b/p``; ``""`` for a local path."""
    if not isinstance(path, str):
        return ""
    head, sep, _ = path.partition("://")
    if not sep or not head or "/" in head or not head.replace("-", "").replace("+", "").isalnum():
        return ""
    return head.lower()


def is_url(path) -> bool:
    return isinstance(path, str) and "://" in path and url_scheme(path) not in ("", "file")


def storage_for(path) -> Storage:
    """The Storage that owns ``path``. Raises MissingExtra when its protocol's package is not
    installed (one line naming the pip command)."""
    if not is_url(path):
        return LOCAL
    from ckpt_tui.core.storage.fsspec_store import for_url

    return for_url(path)
