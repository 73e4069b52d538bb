"""Object stores through fsspec: ``s3://`` (s3fs), ``gs://`` (gcsfs), any other fsspec protocol.

Credentials and endpoints come from where the store's own SDK finds them, no flag of ours:
S3: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and
``~/.aws/{config,credentials}``, instance roles; ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``
for an S3-compatible store (MinIO, moto). GCS: application default credentials
(``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default login``, metadata
server) and ``STORAGE_EMULATOR_HOST``.

Requests cost money, so:
- a trial is listed with ONE recursive listing of its prefix (no delimiter: every key under it,
  1,000 per page, with sizes, times and ETags); its checkpoint dirs, their sizes and the
  trial's files are then served from that listing (no request per object);
- ``prefetch`` lists trials (and reads their result.json/params.json) on a few threads ahead
  of the reader, so the first trials show while the rest are still listed;
- fsspec's own listings cache is off: a listing is ours, fresh from the store each time a
  reader asks again (``refresh``), never silently reused across reads.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from typing import Optional

from ckpt_tui.core.disk import MAX_FILE_BYTES, FileTooLarge
from ckpt_tui.core.ray_names import PARAMS, SNAPSHOT, is_experiment_state
from ckpt_tui.core.storage.base import MissingExtra, StatResult, is_a_dir, not_found
from ckpt_tui.core.storage.fsspec_listing import SHALLOW_SECONDS, FsspecListing, _etag, _mtime

# protocol -> (module to import, extra that installs it)
EXTRAS = {"s3": ("s3fs", "s3"), "s3a": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs")}
_KEEP_BY_ETAG = (PARAMS, SNAPSHOT)  # and experiment_state-*.json: read again only when changed

_stores: dict = {}
_stores_lock = threading.Lock()


def install_hint(scheme: str) -> str:
    module, extra = EXTRAS.get(scheme, (None, None))
    if extra is None:
        return f"{scheme}:// paths need an fsspec implementation of {scheme!r}: pip install fsspec and its {scheme} package"
    return f'{scheme}:// paths need the optional {module} package: pip install "ckpt-tui[{extra}]"'


def _make_filesystem(scheme: str):
    module = EXTRAS.get(scheme, (None,))[0]
    try:
        import fsspec  # type: ignore[import-untyped]

        if module is not None:
            __import__(module)
    except ImportError:
        raise MissingExtra(install_hint(scheme)) from None
    if module == "s3fs":
        kwargs: dict = {"use_listings_cache": False, "skip_instance_cache": True}
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:  # botocore reads these too; passed on for older botocore versions
            kwargs["endpoint_url"] = endpoint
        return fsspec.filesystem("s3", **kwargs)
    if module == "gcsfs":  # STORAGE_EMULATOR_HOST and ADC are gcsfs' own defaults
        return fsspec.filesystem("gcs", use_listings_cache=False, skip_instance_cache=True)
    try:
        return fsspec.filesystem(scheme, use_listings_cache=False, skip_instance_cache=True)
    except (ImportError, ValueError) as exc:
        raise MissingExtra(f"{install_hint(scheme)} ({exc})") from None


def for_url(url: str) -> FsspecStorage:
    scheme = url.partition("://")[0].lower()
    with _stores_lock:
        store = _stores.get(scheme)
        if store is None:
            store = _stores[scheme] = FsspecStorage(scheme, _make_filesystem(scheme))
        return store


def reset_stores() -> None:
    """Forget every store (tests: a new endpoint, new credentials)."""
    with _stores_lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


class FsspecStorage(FsspecListing):
    """An object store through fsspec: listings (fsspec_listing.py), reads, conditional writes,
    batched deletes."""

    def stat(self, path: str):
        path = self.realpath(path)
        if self._covering(path) is not None:
            if path in self._dirs:
                e = self._file_entry(path)
                return StatResult(0, e.mtime if e is not None else 0.0, True)
            e = self._file_entry(path)
            if e is None:
                raise not_found(path)
            return e.stat()
        parent, _, name = path.rpartition("/")
        known = self._shallow.get(parent)
        if known is not None and time.monotonic() - known[0] < SHALLOW_SECONDS:
            for e in known[1]:
                if e.name == name:
                    return e.stat()  # from the listing the read just made: no HEAD
        self.requests += 1
        try:
            info = self.fs.info(self.key(path))
        except FileNotFoundError:
            raise not_found(path) from None
        return StatResult(int(info.get("size") or 0), _mtime(info), info.get("type") == "directory", _etag(info))

    def isdir(self, path: str) -> bool:
        path = self.realpath(path)
        if self._covering(path) is not None:
            return path in self._dirs
        try:
            return self.stat(path).is_dir
        except OSError:
            return False

    def _known_etag(self, path: str) -> Optional[str]:
        """The ETag a current listing gives ``path`` (no request), or None."""
        if self._covering(path) is not None:
            e = self._file_entry(path)
            return e.etag if e is not None else None
        parent, _, name = path.rpartition("/")
        known = self._shallow.get(parent)
        if known is not None and time.monotonic() - known[0] < SHALLOW_SECONDS:
            for e in known[1]:
                if e.name == name and not e._dir:
                    return e.etag
        return None

    def read_file(self, path: str, limit: Optional[int] = None) -> bytes:
        path = self.realpath(path)
        job = self._file_jobs.pop(path.rpartition("/")[0], None)
        if job is not None:
            try:
                job.result()
            except Exception:  # noqa: BLE001 - the prefetch's error: the file is read again below and raises it
                pass
        data = self._files.pop(path, None)
        if data is not None and (limit is None or len(data) <= limit):
            return data
        name = path.rpartition("/")[2]
        keep = name in _KEEP_BY_ETAG or is_experiment_state(name)
        if keep:  # unchanged since last read (the listing's ETag says so): no GET
            etag = self._known_etag(path)
            cached = self._by_etag.get(path)
            if (
                etag is not None
                and cached is not None
                and cached[0] == etag
                and (limit is None or len(cached[1]) <= limit)
            ):
                return cached[1]
            data = self._read_file(path, limit)
            if etag is not None:
                if len(self._by_etag) > 4096:
                    self._by_etag.clear()
                self._by_etag[path] = (etag, data)
            return data
        return self._read_file(path, limit)

    def _read_file(self, path: str, limit: Optional[int] = None) -> bytes:
        if self._covering(path) is not None:
            if path in self._dirs:
                raise is_a_dir(path)
            e = self._file_entry(path)
            if e is None:
                raise not_found(path)
            cap = MAX_FILE_BYTES if limit is None else limit
            if e.size > cap:
                raise FileTooLarge(
                    errno.EFBIG, f"{e.size} bytes, over the {cap}-byte limit for one file: not read", path
                )
            return self._cat(path, limit, e.size)
        return self._cat(path, limit)

    def tree_size(self, path: str, errors: Optional[list] = None) -> tuple[int, int, Optional[float]]:
        path = self.realpath(path)
        if self._covering(path) is None:
            try:
                self._list_tree(path)
            except OSError as exc:
                if errors is not None:
                    errors.append(f"{path}: {exc}")
                return 0, 0, None
        total = count = 0
        newest = None
        stack = [path]
        while stack:
            listing = self._dirs.get(stack.pop(), {})
            for e in listing.values():
                if e._dir:
                    stack.append(e.path)
                    continue
                total += e.size
                count += 1
                if newest is None or e.mtime > newest:
                    newest = e.mtime
        return total, count, newest

    def tree_objects(self, path: str, fresh: bool = True) -> dict[str, tuple[int, Optional[str], float]]:
        """Every object under ``path``: url -> (size, ETag, mtime). ``fresh``: one new
        recursive listing now; otherwise the read's listing while it is cached."""
        path = self.realpath(path)
        if not fresh and self._covering(path) is not None:
            out = {}
            stack = [path]
            while stack:
                for e in self._dirs.get(stack.pop(), {}).values():
                    if e._dir:
                        stack.append(e.path)
                    else:
                        out[e.path] = (e.size, e.etag, e.mtime)
            return out
        key = self.key(path)
        self.requests += 1
        found = self.fs.find(key, detail=True, withdirs=False)
        out = {}
        for name, info in found.items():
            if info.get("type") == "directory" or name.endswith("/"):
                continue
            if not name.startswith(key + "/"):
                continue
            out[self.url(name)] = (int(info.get("size") or 0), _etag(info), _mtime(info))
        return out

    def write_file(self, path: str, data: bytes, if_match: Optional[str] = None) -> None:
        """One PUT: readers see the old object or the new one, never half. ``if_match``: write
        only if the object's ETag is still that (S3 conditional write; a store that does not
        support it is checked by a HEAD right before instead)."""
        path = self.realpath(path)
        key = self.key(path)
        if if_match is not None:
            current = self.stat_fresh(path)
            if current is None or current.etag != if_match:
                raise ChangedSince(errno.EAGAIN, "changed since it was read", path)
        self.requests += 1
        if if_match is not None and self.scheme in ("s3", "s3a"):
            bucket, _, rest = key.partition("/")
            try:
                self.fs.call_s3("put_object", Bucket=bucket, Key=rest, Body=data, IfMatch=if_match)
                self.forget_file(path)
                return
            except Exception as exc:  # noqa: BLE001 - 412: changed; NotImplemented on older stores: HEAD above holds
                text = str(exc)
                if "PreconditionFailed" in text or "412" in text:
                    raise ChangedSince(errno.EAGAIN, "changed since it was read", path) from None
                if "NotImplemented" not in text and "InvalidArgument" not in text:
                    raise OSError(errno.EIO, text, path) from None
        self.fs.pipe_file(key, data)
        self.forget_file(path)

    def stat_fresh(self, path: str) -> Optional[StatResult]:
        self.requests += 1
        try:
            info = self.fs.info(self.key(path))
        except FileNotFoundError:
            return None
        if info.get("type") == "directory":
            return StatResult(0, 0.0, True)
        return StatResult(int(info.get("size") or 0), _mtime(info), False, _etag(info))

    def forget_file(self, path: str) -> None:
        """The next read of ``path`` is a GET, whatever a listing or cache says."""
        self._files.pop(path, None)
        self._by_etag.pop(path, None)
        self._shallow.pop(path.rpartition("/")[0], None)
        e = self._file_entry(path)
        if e is not None:
            parent = path.rpartition("/")[0]
            with self._lock:
                self._covered = {c for c in self._covered if not (path.startswith(c + "/") or c == parent)}

    def delete_keys(self, urls: list[str]) -> tuple[list[str], dict[str, str]]:
        """Delete exactly these objects, 1,000 per request. (deleted urls, url -> error)."""
        deleted: list[str] = []
        failed: dict[str, str] = {}
        for i in range(0, len(urls), 1000):
            batch = urls[i : i + 1000]
            self.requests += 1
            try:
                if self.scheme in ("s3", "s3a"):
                    bucket = self.key(batch[0]).partition("/")[0]
                    objects = []
                    for u in batch:
                        b, _, k = self.key(u).partition("/")
                        if b != bucket:
                            raise ValueError("keys of two buckets in one batch")
                        objects.append({"Key": k})
                    out = self.fs.call_s3("delete_objects", Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
                    errors = {
                        self.url(bucket + "/" + e["Key"]): f"{e.get('Code')}: {e.get('Message')}"
                        for e in out.get("Errors", [])
                    }
                    failed.update(errors)
                    deleted.extend(u for u in batch if u not in errors)
                else:
                    self.fs.rm([self.key(u) for u in batch])
                    deleted.extend(batch)
            except Exception as exc:  # noqa: BLE001 - the store's own errors: each key of the batch reported as failed
                for u in batch:
                    failed[u] = f"{type(exc).__name__}: {exc}"
        for u in deleted:
            self.forget_file(u)
        return deleted, failed

    def delete_tree(self, path: str) -> int:
        objects = self.tree_objects(path, fresh=True)
        deleted, failed = self.delete_keys(sorted(objects))
        if failed:
            first = next(iter(failed.items()))
            raise OSError(errno.EIO, f"{len(failed)} object(s) not deleted: {first[0]}: {first[1]}", path)
        self.forget(path)
        return sum(objects[u][0] for u in deleted)

    def rename(self, src: str, dst: str) -> None:
        self.requests += 2
        self.fs.mv(self.key(src), self.key(dst))

    def copy(self, src: str, dst: str) -> None:
        self.requests += 1
        self.fs.copy(self.key(src), self.key(dst))


class ChangedSince(OSError):
    """A conditional write found the object changed since it was read."""
