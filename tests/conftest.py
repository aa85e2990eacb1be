"""Shared fixtures: the repository's specs, the paper's CSVs, and real servers (moto S3) on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
EXPERIMENTS = REPO / "experiments"
HPINIT = [sys.executable, "-m", "hpinit_k8s.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def write_spec(directory: Path, data: dict, name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 600):
    return subprocess.run([*HPINIT, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session")
def quickstart_data() -> dict:
    return load_yaml(EXPERIMENTS / "quickstart.yaml")


@pytest.fixture(scope="session")
def paper_results() -> Path:
    path = SHARED / "paper-results"
    if not path.is_dir():
        pytest.fail(f"{path} is missing: the paper's CSVs are part of the test bed")
    return path


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, str]]:
    """A real S3-compatible HTTP server (moto) on 127.0.0.1 with bucket `hpinit-test`."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"AWS_ACCESS_KEY_ID": "hpinit-test-key", "AWS_SECRET_ACCESS_KEY": "hpinit-test-secret"}
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"], aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket="hpinit-test")
    yield {"endpoint": endpoint, "bucket": "hpinit-test", **credentials}
    server.stop()


@pytest.fixture
def s3_env(s3_server: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: s3_server[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    env.pop("RAY_ADDRESS", None)
    return env
