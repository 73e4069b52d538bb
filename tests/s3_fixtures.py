"""A real S3 API for the tests: moto's server mode on 127.0.0.1 (a free port), started once per
test session in a thread of the test process; each test gets its own bucket. Copies of the real
Ray runs (tests/ray_runs) are uploaded there as Ray's pyarrow upload writes them: one object per
file, no objects for directories."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

RAY_RUNS = Path(__file__).parent / "ray_runs"

moto_server = pytest.importorskip("moto.moto_server.threaded_moto_server")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("s3fs")

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Bucket:
    def __init__(self, endpoint: str) -> None:
        self.name = "ckpt-" + uuid.uuid4().hex[:12]
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.client.create_bucket(Bucket=self.name)

    def url(self, prefix: str = "") -> str:
        return f"s3://{self.name}/{prefix}".rstrip("/")

    def upload(self, local: Path, prefix: str) -> str:
        """Every file under ``local`` to ``prefix/<relative path>``; the run's URL."""
        for root, _dirs, files in os.walk(local):
            for f in files:
                path = Path(root) / f
                rel = path.relative_to(local).as_posix()
                self.client.put_object(Bucket=self.name, Key=f"{prefix}/{rel}", Body=path.read_bytes())
        return self.url(prefix)

    def objects(self, prefix: str = "") -> dict[str, tuple[int, str]]:
        """key -> (size, ETag) of every object under ``prefix``."""
        out = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"]] = (o["Size"], o["ETag"])
        return out

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """A fresh bucket on the test server, with the environment a user would have (AWS_* and
    AWS_ENDPOINT_URL): the code under test finds it the standard way, no flag."""
    from ckpt_tui.core.storage import fsspec_store

    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fsspec_store.reset_stores()
    yield Bucket(s3_endpoint)
    fsspec_store.reset_stores()


def env_for_subprocess(endpoint: str) -> dict:
    env = dict(os.environ, **ENV)
    env["AWS_ENDPOINT_URL"] = endpoint
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env
