"""Cluster errors reach the user as one line and exit code 2 (a real client, no API server here)."""

from __future__ import annotations

import os

import yaml

from conftest import EXPERIMENTS, free_port, run_cli


def test_no_kubeconfig(tmp_path):
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "absent"), "HOME": str(tmp_path)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    result = run_cli("submit", str(EXPERIMENTS / "quickstart.yaml"), env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("hpinit: error: no Kubernetes configuration found")


def test_unreachable_cluster(tmp_path):
    port = free_port()  # nothing listens there
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
    }
    (tmp_path / "config").write_text(yaml.safe_dump(kubeconfig))
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "config")}
    for args in (["submit", str(EXPERIMENTS / "quickstart.yaml")], ["status", "quickstart"], ["delete", "quickstart"]):
        result = run_cli(*args, env=env, timeout=120)
        assert result.returncode == 2, result.stderr
        assert f"cluster unreachable at https://127.0.0.1:{port}" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
