"""Each rendered stage runs for real, as on the cluster, minus Kubernetes itself.

A Ray cluster of separate processes (`ray start --head` with the manifest's rayStartParams, plus a
worker node), with the env the manifests declare (Secret references resolved to the test's values),
token authentication as `authOptions: token` sets it up, the ConfigMap's spec at the mount path the
manifests name (mapped into a temporary folder), and storage on a real S3 server on 127.0.0.1.
Each RayJob's entrypoint and runtimeEnvYAML go through Ray's Job Submission API, as KubeRay's
submitter does; the collector Job's command runs as a process.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from conftest import EXPERIMENTS, free_port, load_yaml
from hpinit_k8s.k8s.render import SPEC_DIR, render
from hpinit_k8s.spec import parse_spec
from k8s.test_render import s3_variant

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _container(body: dict, group: str) -> dict:
    if body["kind"] == "Job":
        return body["spec"]["template"]["spec"]["containers"][0]
    cluster = body["spec"]["rayClusterSpec"]
    template = cluster["headGroupSpec"] if group == "head" else cluster["workerGroupSpecs"][0]
    return template["template"]["spec"]["containers"][0]


def pod_env(container: dict, secret_data: dict[str, dict[str, str]]) -> dict[str, str]:
    """The container's env as the kubelet would set it, Secret references resolved."""
    env = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secret_data[ref["name"]][ref["key"]]
    return env


def _ray(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ray"), *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def deployment(s3_server):
    data = s3_variant(load_yaml(EXPERIMENTS / "quickstart.yaml"))
    data["storage"]["uri"] = f"s3://{s3_server['bucket']}/k8s"
    data["storage"]["s3"]["endpoint"] = s3_server["endpoint"]
    spec = parse_spec(data, source="test")
    manifests = {m.filename: m.body for m in render(spec)}
    secret_data = {"hpinit-s3": {k: s3_server[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}}
    scratch = Path(tempfile.mkdtemp(prefix="hpk", dir="/tmp"))  # short: Ray's socket paths have a length limit
    mount = scratch / "etc-hpinit"
    mount.mkdir()
    configmap = manifests["00-configmap-spec.yaml"]
    for key, text in configmap["data"].items():
        (mount / key).write_text(text)

    token = secrets.token_hex(16)  # what KubeRay's authOptions Secret would hold
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    base.update(PATH=f"{BIN}:{base.get('PATH', '')}", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    tune = manifests["10-rayjob-tune.yaml"]
    head_env = {**base, **pod_env(_container(tune, "head"), secret_data)}
    worker_env = {**base, **pod_env(_container(tune, "worker"), secret_data)}
    gcs_port, dashboard_port = free_port(), free_port()
    head_params = tune["spec"]["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]
    started = _ray(["start", "--head", f"--port={gcs_port}", f"--num-cpus={head_params['num-cpus']}",
                    "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}", "--include-dashboard=true",
                    f"--temp-dir={scratch / 'ray'}", "--disable-usage-stats"], head_env)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        joined = _ray(["start", f"--address=127.0.0.1:{gcs_port}", "--num-cpus=2", "--disable-usage-stats"], worker_env)
        assert joined.returncode == 0, joined.stderr[-2000:]
        yield {"spec": spec, "manifests": manifests, "mount": mount, "env": head_env, "secret_data": secret_data,
               "address": f"http://127.0.0.1:{dashboard_port}", "s3": s3_server}
    finally:
        _ray(["stop", "--force"], head_env)
        shutil.rmtree(scratch, ignore_errors=True)


def _mapped(text: str, deployment: dict) -> str:
    return text.replace(SPEC_DIR, str(deployment["mount"]))


def submit_stage(deployment: dict, filename: str) -> str:
    """What KubeRay's submitter runs: `ray job submit` with the RayJob's runtime env and entrypoint."""
    spec = deployment["manifests"][filename]["spec"]
    runtime_env = json.dumps(yaml.safe_load(spec["runtimeEnvYAML"]))
    submission = f"hpinit-{filename.split('-')[-1].split('.')[0]}-{secrets.token_hex(3)}"
    env = deployment["env"]
    result = _ray(["job", "submit", f"--address={deployment['address']}", f"--submission-id={submission}",
                   f"--runtime-env-json={runtime_env}", "--", *shlex.split(_mapped(spec["entrypoint"], deployment))],
                  env, timeout=600)  # KubeRay's submitter hands the entrypoint to bash, which splits it
    status = _ray(["job", "status", f"--address={deployment['address']}", submission], env)
    assert f"Job '{submission}' succeeded" in status.stdout + status.stderr, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def _s3(deployment):
    import boto3

    s3 = deployment["s3"]
    return boto3.client("s3", endpoint_url=s3["endpoint"], region_name="us-east-1",
                        aws_access_key_id=s3["AWS_ACCESS_KEY_ID"], aws_secret_access_key=s3["AWS_SECRET_ACCESS_KEY"])


def _read(deployment, key: str) -> bytes:
    return _s3(deployment).get_object(Bucket=deployment["s3"]["bucket"], Key=key)["Body"].read()


def test_the_cluster_requires_the_token(deployment):
    env = {k: v for k, v in deployment["env"].items() if k != "RAY_AUTH_TOKEN"}
    env["RAY_AUTH_TOKEN"] = "wrong-token"
    result = _ray(["job", "list", f"--address={deployment['address']}"], env, timeout=120)
    assert result.returncode != 0


def test_stages_run_from_the_rendered_manifests(deployment):
    logs = submit_stage(deployment, "10-rayjob-tune.yaml")
    assert "tune: done: s3://" in logs
    summary = json.loads(_read(deployment, "k8s/quickstart/tune/summary.json"))
    assert len(summary["trials"]) == 4 and summary["provenance"]["image"] == deployment["spec"].kubernetes.image
    assert summary["winner"]["weights"]["6"]["uri"].startswith("s3://hpinit-test/k8s/quickstart/tune/weights/")

    logs = submit_stage(deployment, "20-rayjob-train.yaml")
    assert "train: done: s3://" in logs
    train = json.loads(_read(deployment, "k8s/quickstart/train/summary.json"))
    assert len(train["runs"]) == 10

    collector = _container(deployment["manifests"]["30-job-collect.yaml"], "collect")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", **pod_env(collector, deployment["secret_data"]))
    command = [_mapped(arg, deployment) for arg in collector["command"]]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "collect: done: s3://hpinit-test/k8s/quickstart/results" in result.stdout
    rows = _read(deployment, "k8s/quickstart/results/quickstart-all.csv").decode().strip().splitlines()
    assert len(rows) == 11 and rows[0].startswith("id,epoch_1,")
    assert json.loads(_read(deployment, "k8s/quickstart/results/report/summary.json"))[-1]["policy"] == "random"

    again = submit_stage(deployment, "10-rayjob-tune.yaml")  # a resubmitted stage finds its work done
    assert "tune: already complete, nothing to do" in again
