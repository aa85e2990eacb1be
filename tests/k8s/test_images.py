"""The images and the kind test bed: what can be checked without a container engine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import ray
import yaml

from conftest import REPO
from hpinit_k8s import __version__
from hpinit_k8s.k8s_spec import KubernetesSpec

DOCKERFILES = sorted((REPO / "images").glob("Dockerfile*"))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(dockerfile):
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), "--no-color", str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_builds_on_the_pinned_ray_and_runs_as_non_root(dockerfile):
    text = dockerfile.read_text()
    assert re.search(rf"^ARG RAY_VERSION={re.escape(ray.__version__)}$", text, re.M)
    assert re.search(r"^FROM rayproject/ray:\$\{RAY_VERSION\}-py311", text, re.M)
    assert re.findall(r"^USER (\S+)$", text, re.M)[-1].split(":")[0] != "0"
    assert "COPY --chown=1000:100 requirements.lock" in text


def test_default_image_tag_is_this_version():
    assert KubernetesSpec().image.endswith(f":{__version__}-gpu")


def test_dockerignore_keeps_local_state_out():
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", ".git", "runs", "data"} <= set(ignored)


@pytest.mark.parametrize("version", ["1.29.0", "1.37.0"])
def test_kind_manifests_are_valid_and_hold_no_secret_values(version):
    documents = list(yaml.safe_load_all((REPO / "k8s" / "kind" / "minio.yaml").read_text()))
    assert [d["kind"] for d in documents] == ["Service", "Deployment", "Job"]
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)
    env = documents[1]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert all("valueFrom" in item for item in env)
    cluster = yaml.safe_load((REPO / "k8s" / "kind" / "cluster.yaml").read_text())
    assert cluster["kind"] == "Cluster" and cluster["name"] == "hpinit"
