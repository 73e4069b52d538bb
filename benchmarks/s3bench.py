"""The S3 benchmark (``python benchmarks/run.py --only s3``): the reference run uploaded to a
local S3 server (moto's server mode, in its own process, on 127.0.0.1), then

* ``s3 json``: ``ckpt-tui s3://... --json`` against a minimal lister: one paginated listing of
  every key under the run (sizes summed per checkpoint prefix) and a GET of every trial's
  result.json (16 at a time, each line parsed);
* ``s3 first-rows``: the app's first frame with rows, as locally, against the same lister;
* ``s3 requests/min``: HTTP requests the server answered per minute while the watcher (as the
  app runs it: RunWatcher, re-reading what it reports) watches the run idle, then while a
  writer plays a running experiment (``RUNNING`` trials adding a checkpoint and a result line,
  the driver rewriting experiment_state, every ``--s3-period`` seconds).

The server counts every request it answers (a WSGI wrapper around moto's app); ``GET
/__count`` returns the count. Nothing here asserts a time: it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BUCKET = "ckpt-bench"


def serve() -> None:
    """Child: moto's S3 on 127.0.0.1, a free port (printed), every request counted."""
    import logging

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = DomainDispatcherApplication(create_backend_app)
    count = {"n": 0}
    lock = threading.Lock()

    def counted(environ, start_response):
        if environ.get("PATH_INFO") == "/__count":
            body = json.dumps(count).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        with lock:
            count["n"] += 1
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, counted, threaded=True, request_handler=MotoRequestHandler)
    print(json.dumps({"port": server.server_port}), flush=True)
    server.serve_forever()


class Server:
    def __init__(self) -> None:
        here = os.path.abspath(__file__)
        self.proc = subprocess.Popen([sys.executable, here, "serve"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = json.loads(line)["port"]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=self.endpoint,
            NO_PROXY="127.0.0.1,localhost",
        )

    def count(self) -> int:
        with urllib.request.urlopen(f"{self.endpoint}/__count", timeout=10) as r:
            return json.loads(r.read())["n"]

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def upload(server: Server, local: str, prefix: str) -> int:
    client = server.client()
    try:
        client.create_bucket(Bucket=BUCKET)
    except Exception:  # noqa: BLE001 - it exists already (a rerun on the same server)
        pass
    files = []
    for root, _dirs, names in os.walk(local):
        for n in names:
            path = os.path.join(root, n)
            files.append((path, f"{prefix}/{os.path.relpath(path, local)}"))

    def put(item):
        path, key = item
        with open(path, "rb") as f:
            client.put_object(Bucket=BUCKET, Key=key, Body=f.read())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, files))
    return len(files)


def minimal_lister(url: str, endpoint: str) -> dict:
    """The least a reader of a run on S3 must do: list every key (sizes from the listing) and
    read every result object."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    prefix = prefix.rstrip("/") + "/"
    checkpoints: dict = {}
    results = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            parts = o["Key"][len(prefix) :].split("/")
            if len(parts) >= 3 and parts[1].startswith("checkpoint_"):
                k = (parts[0], parts[1])
                checkpoints[k] = checkpoints.get(k, 0) + o["Size"]
            elif len(parts) == 2 and parts[1] == "result.json":
                results.append(o["Key"])

    def read(key):
        n = 0
        for line in client.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines():
            if line.strip():
                json.loads(line)
                n += 1
        return n

    with ThreadPoolExecutor(16) as pool:
        reports = sum(pool.map(read, results))
    return {"checkpoints": len(checkpoints), "bytes": sum(checkpoints.values()), "reports": reports}


def bench_s3(run_mod, root: str, repeat: int, results: dict, period: float, minutes: float) -> list:
    row, fmt_s, spawn, child_cmd = run_mod.row, run_mod.fmt_s, run_mod.spawn, run_mod.child_cmd
    server = Server()
    try:
        t0 = time.perf_counter()
        n = upload(server, root, "runs/bench")
        upload_s = time.perf_counter() - t0
        url = f"s3://{BUCKET}/runs/bench"
        saved = dict(os.environ)
        os.environ.update(server.env)
        try:
            base_t, subj_t, rows_t, base_out = [], [], [], None
            for _ in range(repeat):
                b = spawn(child_cmd("minimal-s3", url, server.endpoint))
                if b["rc"] != 0:
                    raise RuntimeError(f"minimal lister failed: {b['stderr'][-500:]}")
                base_t.append(b["elapsed"])
                base_out = b["lines"][-1]
                c0 = server.count()
                s = run_mod.spawn_to_devnull(run_mod.subject_json_cmd(url))
                subj_t.append(s["elapsed"])
                json_requests = server.count() - c0
                f = run_mod.app_run("first-rows", url)
                rows_t.append(f["events"]["rows"]["_at"])
            out = subprocess.run(run_mod.subject_json_cmd(url), capture_output=True, check=True).stdout
            doc = json.loads(out)
            count = len(doc["checkpoints"])
            total = sum(c["size_bytes"] or 0 for c in doc["checkpoints"])
            ok = count == base_out["checkpoints"] and total == base_out["bytes"]
            check = (
                f"{'OK' if ok else 'MISMATCH'}: --json lists {count} checkpoints, {total} bytes; "
                f"lister {base_out['checkpoints']}, {base_out['bytes']} bytes"
            )
            base, subj, first = min(base_t), min(subj_t), min(rows_t)
            results["s3"] = {
                "objects": n,
                "upload_s": upload_s,
                "json_s": subj_t,
                "lister_s": base_t,
                "first_rows_s": rows_t,
                "json_requests": json_requests,
                "check": check,
            }
            out_rows = [
                row(
                    "s3 json",
                    fmt_s(subj),
                    fmt_s(base),
                    f"{subj / base:.2f}x",
                    "<= 1.5x",
                    subj / base <= 1.5,
                    f"best of {repeat}; {json_requests} requests; {check}",
                ),
                row(
                    "s3 first-rows",
                    fmt_s(first),
                    fmt_s(base),
                    f"{first / base:.2f}x",
                    "<= 1.5x",
                    first / base <= 1.5,
                    "spawn -> first frame with rows vs the whole minimal lister",
                ),
            ]
            if minutes > 0:
                out_rows += requests_per_minute(server, url, period, minutes, results, row)
            return out_rows
        finally:
            os.environ.clear()
            os.environ.update(saved)
    finally:
        server.stop()


def requests_per_minute(server: Server, url: str, period: float, minutes: float, results: dict, row) -> list:
    """Watch the run as the app does (RunWatcher, reread of what it reports, sizes included)
    for ``minutes`` idle, then ``minutes`` while a writer plays a running experiment."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from ckpt_tui.core.readers import read_run, reread
    from ckpt_tui.core.storage.fsspec_store import reset_stores
    from ckpt_tui.watch import RunWatcher

    reset_stores()
    run = read_run(url)
    lock = threading.Lock()

    def on_batch(ids):
        with lock:
            reread(run, ids, sizes=True)

    figures = {}
    watcher = RunWatcher(run.root, run.layout, on_batch)
    watcher.start()
    try:
        t0 = time.monotonic()
        c0 = server.count()
        while watcher.poll_interval < 60.0 and time.monotonic() - t0 < 600:  # the interval settles
            time.sleep(1)
        figures["idle_settle_s"] = time.monotonic() - t0
        figures["idle_settle_requests"] = server.count() - c0
        c0 = server.count()
        time.sleep(minutes * 60)
        figures["idle"] = (server.count() - c0) / minutes
        figures["idle_interval"] = watcher.poll_interval
        stop = threading.Event()
        writer = threading.Thread(target=_play_running, args=(server, url, period, stop), daemon=True)
        writer.start()
        time.sleep(period * 2)  # the writer's first rounds: the interval comes down
        c0 = server.count()
        w0 = _writes["n"]
        time.sleep(minutes * 60)
        figures["running"] = (server.count() - c0 - (_writes["n"] - w0)) / minutes
        figures["running_interval"] = watcher.poll_interval
        stop.set()
        writer.join(30)
    finally:
        watcher.stop()
    results["s3_requests_per_minute"] = figures
    return [
        row(
            "s3 requests/min idle",
            f"{figures['idle']:.1f}",
            note=(
                f"nothing changing, over {minutes:g} min once the interval reached "
                f"{figures['idle_interval']:g} s ({figures['idle_settle_requests']} requests in the "
                f"{figures['idle_settle_s']:.0f} s before)"
            ),
        ),
        row(
            "s3 requests/min running",
            f"{figures['running']:.1f}",
            note=(
                f"{RUNNING_TRIALS} RUNNING trials adding a checkpoint every {period:g} s, the driver "
                f"rewriting experiment_state as often; the writer's own requests not counted"
            ),
        ),
    ]


RUNNING_TRIALS = 8
_writes = {"n": 0}


def _play_running(server: Server, url: str, period: float, stop: threading.Event) -> None:
    """A running experiment: RUNNING_TRIALS trials (marked RUNNING in the state) each upload a
    checkpoint and append a result line, then the driver uploads the experiment state."""
    client = server.client()
    bucket, _, prefix = url[len("s3://") :].partition("/")
    keys = [
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/", Delimiter="/")
        for o in page.get("Contents", [])
    ]
    state_key = sorted(k for k in keys if "/experiment_state-" in k)[-1]
    state = json.loads(client.get_object(Bucket=bucket, Key=state_key)["Body"].read())
    _writes["n"] += 2
    running = []
    for item in state["trial_data"][:RUNNING_TRIALS]:
        info = json.loads(item[0])
        info["status"] = "RUNNING"
        item[0] = json.dumps(info)
        running.append(info["relative_logdir"])
    step = 1000
    while not stop.is_set():
        for tid in running:
            rkey = f"{prefix}/{tid}/result.json"
            body = client.get_object(Bucket=bucket, Key=rkey)["Body"].read()
            name = f"checkpoint_{step:06d}"
            client.put_object(Bucket=bucket, Key=f"{prefix}/{tid}/{name}/model.bin", Body=b"m" * 640)
            line = json.dumps(
                {
                    "loss": 1.0 / step,
                    "training_iteration": step + 1,
                    "checkpoint_dir_name": name,
                    "timestamp": int(time.time()),
                    "trial_id": tid,
                }
            )
            client.put_object(Bucket=bucket, Key=rkey, Body=body + line.encode() + b"\n")
            _writes["n"] += 3
        for item in state["trial_data"][:RUNNING_TRIALS]:  # as Ray's driver: the trial's entry moves
            info = json.loads(item[0])
            info["last_result"] = {"training_iteration": step + 1}
            item[0] = json.dumps(info)
        client.put_object(Bucket=bucket, Key=state_key, Body=json.dumps(state).encode())
        _writes["n"] += 1
        step += 1
        stop.wait(period)


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve()
