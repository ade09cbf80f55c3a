"""Label storage in tests: local disk (a temporary MEDIA_ROOT) or a real S3-compatible server, moto in
server mode on loopback, reached over HTTP through django-storages exactly as production's S3 is."""

from __future__ import annotations

import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from config.settings import s3_storage

S3_KEY, S3_SECRET, S3_REGION = "TEST_s3_key", "TEST_s3_secret", "us-east-1"


@pytest.fixture(scope="session")
def s3_server():
    """One moto S3 server per test worker, on 127.0.0.1 and a free port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
                        region_name=S3_REGION)


@pytest.fixture(params=["disk", "s3"])
def label_storage(request, settings, tmp_path):
    """Django's default storage on disk or on the S3 server (a fresh bucket each test); yields
    ("disk", path) or ("s3", (endpoint, bucket))."""
    if request.param == "disk":
        settings.MEDIA_ROOT = str(tmp_path)
        settings.STORAGES = {**settings.STORAGES, "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
        yield "disk", tmp_path
        return
    endpoint = request.getfixturevalue("s3_server")
    bucket = f"labels-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(
        endpoint=endpoint, access_key=S3_KEY, secret_key=S3_SECRET, bucket=bucket, region=S3_REGION)}
    yield "s3", (endpoint, bucket)


def stored_names(label_storage) -> list[str]:
    """Every file name in the test's storage, whichever it is."""
    kind, where = label_storage
    if kind == "disk":
        return sorted(str(p.relative_to(where)) for p in where.rglob("*") if p.is_file())
    endpoint, bucket = where
    listing = s3_client(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))
