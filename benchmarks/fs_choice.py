"""Why fsspec + s3fs and not pyarrow.fs: both measured on the same local S3 server (moto, its
own process) on a generated run, doing what ckpt-tui does on S3.

    python benchmarks/fs_choice.py --trials 100 --checkpoints 100

Prints import time, one recursive listing of the whole run, one recursive listing per trial (16
threads), a GET of every result.json (16 threads), and whether the listing carries what the
deletion's checks need (ETags). Needs pyarrow installed besides the [s3] extra; nothing asserts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import generate  # noqa: E402
import s3bench  # noqa: E402


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--checkpoints", type=int, default=100)
    p.add_argument("--data", default=None)
    args = p.parse_args()
    root = generate.generate(args.trials, args.checkpoints, args.data)
    server = s3bench.Server()
    try:
        n = s3bench.upload(server, root, "runs/bench")
        os.environ.update(server.env)
        prefix = f"{s3bench.BUCKET}/runs/bench"
        rows = []
        for mod in ("s3fs", "pyarrow.fs"):
            t = min(_timed([sys.executable, "-c", f"import {mod}"]) for _ in range(3))
            rows.append((f"import {mod}", t))

        import pyarrow.fs as pafs
        import s3fs

        sfs = s3fs.S3FileSystem(use_listings_cache=False, skip_instance_cache=True, endpoint_url=server.endpoint)
        afs = pafs.S3FileSystem(
            endpoint_override=server.endpoint, scheme="http", region="us-east-1", access_key="bench", secret_key="bench"
        )
        trials = sorted(i["name"] for i in sfs.ls(prefix, detail=True) if i["type"] == "directory")

        t, found = best(lambda: sfs.find(prefix, detail=True))
        rows.append((f"s3fs: list the whole run ({len(found)} objects)", t))
        t, infos = best(lambda: afs.get_file_info(pafs.FileSelector(prefix, recursive=True)))
        rows.append((f"pyarrow: list the whole run ({sum(1 for i in infos if i.type == pafs.FileType.File)} files)", t))

        with ThreadPoolExecutor(16) as pool:
            t, _ = best(lambda: list(pool.map(lambda d: sfs.find(d, detail=True), trials)))
            rows.append((f"s3fs: list each of {len(trials)} trials (16 threads)", t))
            t, _ = best(
                lambda: list(pool.map(lambda d: afs.get_file_info(pafs.FileSelector(d, recursive=True)), trials))
            )
            rows.append((f"pyarrow: list each of {len(trials)} trials (16 threads)", t))
            results = [f"{d}/result.json" for d in trials]
            t, _ = best(lambda: list(pool.map(sfs.cat_file, results)))
            rows.append((f"s3fs: GET {len(results)} result.json (16 threads)", t))
            t, _ = best(lambda: list(pool.map(lambda k: afs.open_input_stream(k).read(), results)))
            rows.append((f"pyarrow: GET {len(results)} result.json (16 threads)", t))

        one = next(iter(found.values()))
        info = afs.get_file_info([next(iter(found))])[0]
        print(f"{n} objects uploaded; {len(trials)} trials")
        for label, t in rows:
            print(f"{label:60s} {t * 1000:8.0f} ms")
        print(
            f"s3fs listing entry has ETag: {'ETag' in one}; pyarrow FileInfo fields: size, mtime "
            f"(ETag: {hasattr(info, 'etag')})"
        )
    finally:
        server.stop()
    return 0


def _timed(cmd) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


if __name__ == "__main__":
    raise SystemExit(main())
