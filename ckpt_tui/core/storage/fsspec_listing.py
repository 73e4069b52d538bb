"""Listings of an object store (the base of FsspecStorage in fsspec_store.py): one recursive
listing per trial, the stream and prefetch of trials ahead of the reader, delimiter listings,
and the one-GET read they share. See fsspec_store.py for what a request costs and why."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Optional

from ckpt_tui.core.disk import MAX_FILE_BYTES, FileTooLarge
from ckpt_tui.core.ray_names import PARAMS, RESULT, SNAPSHOT
from ckpt_tui.core.storage.base import Entry, Listing, Storage, is_a_dir, not_a_dir, not_found

_PREFETCH_FILES = (RESULT, PARAMS, SNAPSHOT)
_PREFETCH_THREADS = 16
SHALLOW_SECONDS = 2.0


def _mtime(info: dict) -> float:
    for key in ("LastModified", "mtime", "updated", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return 0.0


def _etag(info: dict) -> Optional[str]:
    for key in ("ETag", "etag", "md5Hash", "generation"):
        value = info.get(key)
        if value is not None:
            return str(value)
    return None


class FsspecListing(Storage):
    """Paths, listings and caches of one store; FsspecStorage adds reads, writes and deletes."""

    local = False

    def __init__(self, scheme: str, fs) -> None:
        self.scheme = scheme
        self.fs = fs
        self.prefix = scheme + "://"
        self.requests = 0  # listing pages are counted as one per call (see bench)
        self._lock = threading.Lock()
        self._dirs: dict[str, dict[str, Entry]] = {}  # dir url -> name -> Entry (from recursive listings)
        self._covered: set[str] = set()  # prefixes whose whole subtree is in _dirs
        self._files: dict[str, bytes] = {}  # prefetched small files, consumed by read_file
        self._pending: dict[str, Future] = {}
        self._pool: Optional[ThreadPoolExecutor] = None
        self._shallow: dict[str, tuple[float, Listing]] = {}  # dir url -> (when, its listing)
        self._one_request = {"max_concurrency": 1} if scheme in ("s3", "s3a") else {}
        self._by_etag: dict[str, tuple[str, bytes]] = {}  # url -> (ETag, bytes) of files that rarely change
        self._fresh_until: dict[str, float] = {}  # trial url -> monotonic time its listing counts as new
        self._streamed: dict[str, threading.Event] = {}  # child url -> set once the stream passed it
        self._stream_failed = False
        self._file_jobs: dict[str, Future] = {}  # child url -> the GETs of its small files

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    # --- paths ----------------------------------------------------------------------------
    def key(self, path: str) -> str:
        """``bucket/prefix/name`` for fsspec, from ``s3://bucket/prefix/name/``."""
        if path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        return path.strip("/")

    def url(self, key: str) -> str:
        return self.prefix + key.strip("/")

    def realpath(self, path: str) -> str:
        return self.url(self.key(path))

    def _covering(self, path: str) -> Optional[str]:
        p = path
        while True:
            if p in self._covered:
                return p
            parent = p.rpartition("/")[0]
            if not parent or parent == p or parent.endswith(":/") or parent.endswith(":"):
                return None
            p = parent

    # --- listings --------------------------------------------------------------------------
    def _list_tree(self, path: str) -> None:
        """One recursive listing of ``path``: every key under it, into the cache."""
        key = self.key(path)
        self.requests += 1
        found = self.fs.find(key, detail=True, withdirs=False)
        dirs: dict[str, dict[str, Entry]] = {path: {}}
        base = key + "/"
        for name, info in found.items():
            # A key ending in "/" (or listed as a directory) is a directory marker, as tools
            # that create empty "directories" write them: the dirs exist, no file.
            marker = name.endswith("/") or info.get("type") == "directory"
            name = name.rstrip("/")
            if not name.startswith(base):
                continue  # the prefix itself as an object
            rel = name[len(base) :]
            if not rel:
                continue
            parts = rel.split("/")
            mtime = _mtime(info)
            parent = path
            for part in parts if marker else parts[:-1]:
                child = parent + "/" + part
                listing = dirs.setdefault(parent, {})
                e = listing.get(part)
                if e is None:
                    listing[part] = Entry(part, child, True, 0, mtime)
                elif mtime > e.mtime:
                    e.mtime = mtime
                dirs.setdefault(child, {})
                parent = child
            if marker:
                continue
            dirs.setdefault(parent, {})[parts[-1]] = Entry(
                parts[-1], parent + "/" + parts[-1], False, int(info.get("size") or 0), mtime, _etag(info)
            )
        with self._lock:
            for d in [d for d in self._dirs if d == path or d.startswith(path + "/")]:
                del self._dirs[d]
            self._covered = {c for c in self._covered if not c.startswith(path + "/")}
            self._dirs.update(dirs)
            self._covered.add(path)
        if not found:
            # nothing under it: a missing prefix, or a single object of that name
            with self._lock:
                self._covered.discard(path)
                self._dirs.pop(path, None)

    def refresh(self, path: str) -> None:
        """Make a fresh listing of ``path``'s subtree current: the one ``prefetch`` made for
        this read if there is one not used yet, one made in the last second (by the same
        re-read), else a new one now."""
        path = self.realpath(path)
        event = self._streamed.pop(path, None)
        if event is not None:
            event.wait()
            if not self._stream_failed and self._covering(path) is not None:
                return
        if self._fresh_until.get(path, 0.0) > time.monotonic() and self._covering(path) is not None:
            return
        fut = self._pending.pop(path, None)
        if fut is not None:
            try:
                fut.result()
                return
            except Exception:  # noqa: BLE001 - the prefetch's error: the listing below is asked again and raises it
                pass
        self._files = {k: v for k, v in self._files.items() if not k.startswith(path + "/")}
        self._list_tree(path)
        self._fresh_until[path] = time.monotonic() + 1.0

    def stream(self, root: str, children: list[str]) -> bool:
        """List every key under ``root`` in ONE paginated listing (no delimiter) on a thread.
        Keys come sorted, so each child's keys are contiguous: a child is complete (its
        listing, sizes and files available; ``refresh(child)`` returns) as soon as the listing
        passes it, and its small Ray files are fetched then, 16 at a time. The reader shows the
        first trials after the first page, and the whole run costs what the minimal lister
        costs: the pages of one listing and a GET per file. False when the store cannot (only
        S3 is streamed; others list child by child with ``prefetch``)."""
        if self.scheme not in ("s3", "s3a"):
            return False
        root = self.realpath(root)
        for child in children:  # the root's own listing (just made) stays
            self.forget(child)
        self._stream_failed = False
        events = {self.realpath(c): threading.Event() for c in children}
        self._streamed.update(events)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(_PREFETCH_THREADS, thread_name_prefix="ckpt-tui-list")
        threading.Thread(target=self._stream, args=(root, events), name="ckpt-tui-stream", daemon=True).start()
        return True

    def _stream(self, root: str, events: dict) -> None:
        bucket, _, key = self.key(root).partition("/")
        prefix = key + "/" if key else ""
        current: Optional[str] = None
        dirs = self._dirs

        def complete(name: str) -> None:
            child = root + "/" + name
            if child not in dirs:  # a file at the root (experiment_state, tuner.pkl): never covered
                if child in events:
                    events[child].set()
                return
            with self._lock:
                self._covered.add(child)
            self._fresh_until[child] = time.monotonic() + 1.0
            if child in events:
                pool = self._pool
                if pool is None:  # closed meanwhile: the stream ends as a failed one (see below)
                    raise OSError("the store was closed")
                self._file_jobs[child] = pool.submit(self._fetch_small_files, child)
                events[child].set()

        try:
            token = None
            while True:
                kwargs = {"Bucket": bucket, "Prefix": prefix}
                if token:
                    kwargs["ContinuationToken"] = token
                self.requests += 1
                page = self.fs.call_s3("list_objects_v2", **kwargs)
                with self._lock:
                    for o in page.get("Contents", []):
                        k = o["Key"]
                        rel = k[len(prefix) :]
                        if not rel:
                            continue
                        top = rel.split("/", 1)[0]
                        if top != current:
                            if current is not None:
                                self._lock.release()
                                try:
                                    complete(current)
                                finally:
                                    self._lock.acquire()
                            current = top
                        self._add_key(dirs, root, rel, int(o.get("Size") or 0), _mtime(o), _etag(o))
                if not page.get("IsTruncated"):
                    break
                token = page.get("NextContinuationToken")
                if not token:
                    break
            if current is not None:
                complete(current)
            # The root itself is not marked covered: its own listing (new trials, a new
            # experiment state) is always asked again, never served from this one.
        except Exception:  # noqa: BLE001 - any store error ends the stream; readers then list each trial themselves
            self._stream_failed = True
        finally:
            for e in events.values():
                e.set()

    @staticmethod
    def _add_key(dirs: dict, root: str, rel: str, size: int, mtime: float, etag: Optional[str]) -> None:
        marker = rel.endswith("/")
        parts = rel.rstrip("/").split("/")
        parent = root
        dirs.setdefault(root, {})
        for part in parts if marker else parts[:-1]:
            child = parent + "/" + part
            listing = dirs.setdefault(parent, {})
            e = listing.get(part)
            if e is None:
                listing[part] = Entry(part, child, True, 0, mtime)
            elif mtime > e.mtime:
                e.mtime = mtime
            dirs.setdefault(child, {})
            parent = child
        if not marker:
            dirs.setdefault(parent, {})[parts[-1]] = Entry(
                parts[-1], parent + "/" + parts[-1], False, size, mtime, etag
            )

    def _fetch_small_files(self, path: str) -> None:
        listing = self._dirs.get(path, {})
        for name in _PREFETCH_FILES:
            e = listing.get(name)
            if e is None or e._dir or e.size > MAX_FILE_BYTES:
                continue
            cached = self._by_etag.get(e.path)
            if cached is not None and cached[0] == e.etag:
                continue
            try:
                self._files[e.path] = self._cat(e.path, size=e.size)
            except OSError:
                pass

    def prefetch(self, paths: Iterable[str]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(_PREFETCH_THREADS, thread_name_prefix="ckpt-tui-list")
        for path in paths:
            path = self.realpath(path)
            if path not in self._pending:
                self._pending[path] = self._pool.submit(self._prefetch_one, path)

    def _prefetch_one(self, path: str) -> None:
        self._list_tree(path)
        self._fetch_small_files(path)

    def forget(self, path: str) -> None:
        path = self.realpath(path)
        parent, _, name = path.rpartition("/")
        with self._lock:
            self._fresh_until = {
                k: v
                for k, v in self._fresh_until.items()
                if not (k == path or k.startswith(path + "/") or path.startswith(k + "/"))
            }
            listing = self._dirs.get(parent)
            if listing is not None:
                listing.pop(name, None)
            for d in [d for d in self._dirs if d == path or d.startswith(path + "/")]:
                del self._dirs[d]
            # an ancestor's cached subtree is no longer whole either: it is listed again
            self._covered = {
                c for c in self._covered if c != path and not c.startswith(path + "/") and not path.startswith(c + "/")
            }
            self._files = {k: v for k, v in self._files.items() if not k.startswith(path + "/")}
            self._shallow = {k: v for k, v in self._shallow.items() if k != path and not k.startswith(path + "/")}
        fut = self._pending.pop(path, None)
        if fut is not None:
            fut.cancel()

    def forget_listing(self, path: str) -> None:
        self._shallow.pop(self.realpath(path), None)

    def scandir(self, path: str) -> Listing:
        """The names directly in ``path``: from a recursive listing that covers it, else one
        delimiter listing (reused for SHALLOW_SECONDS: detecting the layout, finding the
        experiment state and listing the trials of one read are one request, not three)."""
        path = self.realpath(path)
        if self._covering(path) is not None:
            listing = self._dirs.get(path)
            if listing is None:
                if self._file_entry(path) is not None:
                    raise not_a_dir(path)
                raise not_found(path)
            return Listing(listing.values())
        known = self._shallow.get(path)
        if known is not None and time.monotonic() - known[0] < SHALLOW_SECONDS:
            return Listing(known[1])
        return self.scandir_fresh(path)

    def scandir_fresh(self, path: str) -> Listing:
        """One delimiter listing of ``path`` now, whatever is cached (the watcher's polls)."""
        path = self.realpath(path)
        key = self.key(path)
        self.requests += 1
        try:
            infos = self.fs.ls(key, detail=True)
        except FileNotFoundError:
            raise not_found(path) from None
        except NotADirectoryError:
            raise not_a_dir(path) from None
        except PermissionError as exc:
            raise PermissionError(errno.EACCES, f"permission denied ({exc})", path) from None
        out = Listing()
        for info in infos:
            name = info["name"].rstrip("/")
            if name == key:
                if info.get("type") != "directory":
                    raise not_a_dir(path)
                continue
            short = name.rpartition("/")[2]
            if not short:
                continue
            is_dir = info.get("type") == "directory"
            out.append(Entry(short, path + "/" + short, is_dir, int(info.get("size") or 0), _mtime(info), _etag(info)))
        if not out and not infos:
            raise not_found(path)
        self._shallow[path] = (time.monotonic(), out)
        return Listing(out)

    def _file_entry(self, path: str) -> Optional[Entry]:
        parent, _, name = path.rpartition("/")
        listing = self._dirs.get(parent)
        e = listing.get(name) if listing is not None else None
        return e

    # --- files -----------------------------------------------------------------------------
    def _cat(self, path: str, limit: Optional[int] = None, size: Optional[int] = None) -> bytes:
        """One GET. ``size`` from a listing: an empty object is not asked for (a ranged GET of
        nothing is an error on S3); without it the GET asks for at most ``limit`` + 1 bytes."""
        limit = MAX_FILE_BYTES if limit is None else limit
        if size == 0:
            return b""
        self.requests += 1
        try:
            if size is not None and size <= limit:
                # one GET (without max_concurrency=1 s3fs first asks the size with a HEAD)
                data = self.fs.cat_file(self.key(path), **self._one_request)
            else:
                data = self.fs.cat_file(self.key(path), start=0, end=limit + 1)
        except FileNotFoundError:
            raise not_found(path) from None
        except IsADirectoryError:
            raise is_a_dir(path) from None
        except OSError as exc:
            if "Range" in str(exc) or "range" in str(exc) or "416" in str(exc):
                return b""  # an empty object, asked for with a range
            raise
        if len(data) > limit:
            raise FileTooLarge(errno.EFBIG, f"over the {limit}-byte limit for one file: not read", path)
        return data
