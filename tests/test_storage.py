"""Storage through pyarrow.fs: local paths and a real S3 HTTP server (moto) on 127.0.0.1."""

import pytest

from hpinit_k8s.errors import StorageError
from hpinit_k8s.spec import S3Spec, StorageSpec
from hpinit_k8s.storage import open_storage


def _exercise(storage):
    path = storage.path("exp", "tune", "summary.json")
    storage.write_json(path, {"winner": 3})
    assert storage.exists(path) and storage.read_json(path) == {"winner": 3}
    storage.write_bytes(storage.path("exp", "tune", "weights", "a.bin"), b"\x00\x01")
    assert storage.list_files(storage.path("exp")) == sorted([path, storage.path("exp", "tune", "weights", "a.bin")])
    storage.delete_dir(storage.path("exp", "tune", "weights"))
    assert not storage.exists(storage.path("exp", "tune", "weights", "a.bin"))
    with pytest.raises(StorageError, match="not found"):
        storage.read_bytes(storage.path("exp", "absent.json"))


def test_local_storage(tmp_path):
    storage = open_storage(StorageSpec(uri=f"file://{tmp_path}"))
    _exercise(storage)
    assert storage.uri("x") == f"{tmp_path}/x"


def test_s3_storage_on_a_real_http_server(s3_server):
    spec = StorageSpec(uri=f"s3://{s3_server['bucket']}/prefix", s3=S3Spec(endpoint=s3_server["endpoint"]))
    env = {k: s3_server[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    storage = open_storage(spec, env)
    _exercise(storage)
    assert storage.uri("x") == f"s3://{s3_server['bucket']}/prefix/x"
    assert storage.path_of(storage.uri("x")) == storage.path("x")


def test_s3_wrong_credentials_fail_cleanly(s3_server):
    spec = StorageSpec(uri="s3://absent-bucket/p", s3=S3Spec(endpoint=s3_server["endpoint"]))
    storage = open_storage(spec, {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    with pytest.raises(StorageError) as raised:
        storage.write_json(storage.path("x.json"), {})
    assert "s3://absent-bucket/p/x.json" in str(raised.value) and "\n" not in str(raised.value)


def test_s3_credentials_come_from_named_env_vars():
    spec = StorageSpec(uri="s3://bucket/p", s3=S3Spec(endpoint="http://127.0.0.1:1", access_key_env="MY_KEY"))
    with pytest.raises(StorageError, match="environment variable MY_KEY is not set"):
        open_storage(spec, {})


def test_s3_endpoint_must_be_a_url():
    spec = StorageSpec(uri="s3://bucket/p", s3=S3Spec(endpoint="minio:9000"))
    with pytest.raises(StorageError, match="not an http"):
        open_storage(spec, {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
