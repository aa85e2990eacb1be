"""Rendered manifests: golden files, strict schema validation, and the properties the cluster relies on."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from conftest import EXPERIMENTS, REPO, load_yaml, run_cli
from hpinit_k8s.errors import SpecError
from hpinit_k8s.k8s.render import render
from hpinit_k8s.spec import load_spec, parse_spec
from k8s.crd_schema import assert_valid_rayjob, crd_errors

GOLDEN = Path(__file__).parent / "golden"
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
SECRET_VALUES = ("hpinit-test-key", "hpinit-test-secret")


def s3_variant(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["storage"] = {"uri": "s3://hpinit-results/experiments", "s3": {"endpoint": "http://minio.hpinit.svc:9000"}}
    data["kubernetes"] = {**data.get("kubernetes", {}), "s3_secret": "hpinit-s3"}
    return data


def variants() -> dict[str, dict]:
    out = {}
    for name in ("quickstart", "res18-cifar10"):
        data = load_yaml(EXPERIMENTS / f"{name}.yaml")
        out[f"{name}-pvc"] = data
        out[f"{name}-s3"] = s3_variant(data)
    return out


VARIANTS = variants()


def rendered(variant: str):
    return render(parse_spec(VARIANTS[variant], source=variant))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_golden_files(variant):
    """Regenerate with UPDATE_GOLDEN=1 after an intended change, and review the diff."""
    folder = GOLDEN / variant
    manifests = rendered(variant)
    if os.environ.get("UPDATE_GOLDEN"):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        for m in manifests:
            (folder / m.filename).write_text(m.to_yaml())
    assert sorted(p.name for p in folder.glob("*.yaml")) == sorted(m.filename for m in manifests)
    for m in manifests:
        assert m.to_yaml() == (folder / m.filename).read_text(), f"{variant}/{m.filename} differs from its golden file"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rendering_is_deterministic(variant):
    assert [m.to_yaml() for m in rendered(variant)] == [m.to_yaml() for m in rendered(variant)]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rayjobs_pass_the_kuberay_crd_schema_strictly(variant):
    jobs = [m.body for m in rendered(variant) if m.body["kind"] == "RayJob"]
    assert [j["metadata"]["name"].rsplit("-", 1)[1] for j in jobs] == ["tune", "train"]
    for job in jobs:
        assert_valid_rayjob(yaml.safe_load(yaml.safe_dump(job)))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_pass_kubernetes_validate_strictly(variant, version):
    for m in rendered(variant):
        if m.body["kind"] != "RayJob":
            kubernetes_validate.validate(yaml.safe_load(m.to_yaml()), version, strict=True)


@pytest.mark.parametrize(("path", "value"), [
    (("spec", "shutdownAfterJobFinish"), True),  # a typo of shutdownAfterJobFinishes
    (("spec", "rayClusterSpec", "headGroupSpec", "template", "spec", "containers", 0, "resource"), {}),
    (("spec", "backoffLimit"), "1"),
    (("spec", "rayClusterSpec", "authOptions", "mode"), "password"),
])
def test_schema_check_catches_typos_and_wrong_types(path, value):
    job = copy.deepcopy(next(m.body for m in rendered("quickstart-pvc") if m.body["kind"] == "RayJob"))
    node = job
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert crd_errors(job)


def test_core_typo_fails_kubernetes_validate():
    claim = copy.deepcopy(next(m.body for m in rendered("quickstart-pvc") if m.body["kind"] == "PersistentVolumeClaim"))
    claim["spec"]["accesMode"] = ["ReadWriteOnce"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(claim, "1.37.0", strict=True)


def _containers(body):
    if body["kind"] == "RayJob":
        cluster = body["spec"]["rayClusterSpec"]
        pods = [cluster["headGroupSpec"]["template"], *[g["template"] for g in cluster["workerGroupSpecs"]],
                body["spec"]["submitterPodTemplate"]]
    elif body["kind"] == "Job":
        pods = [body["spec"]["template"]]
    else:
        pods = []
    return [(pod, c) for pod in pods for c in pod["spec"]["containers"]]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_object_is_labelled_and_every_container_is_locked_down(variant):
    for m in rendered(variant):
        meta = m.body["metadata"]
        assert meta["labels"]["app.kubernetes.io/name"] == "hpinit"
        assert {"app.kubernetes.io/part-of", "hpinit.io/experiment", "hpinit.io/stage"} <= set(meta["labels"])
        for pod, container in _containers(m.body):
            assert container["securityContext"]["runAsNonRoot"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert pod["spec"]["securityContext"]["runAsUser"] != 0
            assert set(container["resources"]["requests"]) >= {"cpu", "memory"}
            assert set(container["resources"]["limits"]) >= {"cpu", "memory"}
            assert pod["metadata"]["labels"]["hpinit.io/experiment"] == meta["labels"]["hpinit.io/experiment"]


def test_rayjob_settings_follow_the_spec():
    spec = load_spec(EXPERIMENTS / "res18-cifar10.yaml")
    tune = next(m.body for m in render(spec) if m.filename == "10-rayjob-tune.yaml")["spec"]
    assert tune["entrypoint"].startswith("hpinit run /etc/hpinit/spec.yaml --stage tune")
    assert tune["shutdownAfterJobFinishes"] is True and tune["backoffLimit"] == spec.kubernetes.backoff_limit
    assert tune["submitterConfig"] == {"backoffLimit": 0}
    assert tune["activeDeadlineSeconds"] == spec.kubernetes.active_deadline_seconds
    cluster = tune["rayClusterSpec"]
    import ray

    assert cluster["rayVersion"] == ray.__version__ == "2.60.0"
    assert cluster["authOptions"] == {"mode": "token"}
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    worker = cluster["workerGroupSpecs"][0]
    assert worker["replicas"] == 4
    container = worker["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "nvidia.com/gpu" not in container["resources"]["requests"]
    shm = next(v for v in worker["template"]["spec"]["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert {"name": "spec", "mountPath": "/etc/hpinit", "readOnly": True} in container["volumeMounts"]


def test_worker_group_is_sized_from_concurrency_when_not_given():
    data = load_yaml(EXPERIMENTS / "res18-cifar10.yaml")
    data["kubernetes"].pop("worker_replicas")
    data["resources"]["max_concurrent_trials"] = 6
    data["kubernetes"]["worker"]["gpus"] = 2
    train = next(m.body for m in render(parse_spec(data, source="t")) if m.filename == "20-rayjob-train.yaml")
    assert train["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 3


def test_auth_disabled_is_explicit_everywhere():
    data = load_yaml(EXPERIMENTS / "quickstart.yaml")
    data["kubernetes"]["ray_auth"] = "disabled"
    for m in render(parse_spec(data, source="t")):
        if m.body["kind"] == "RayJob":
            assert m.body["spec"]["rayClusterSpec"]["authOptions"] == {"mode": "disabled"}
        for _, container in _containers(m.body):
            assert {"name": "RAY_AUTH_MODE", "value": "disabled"} in container["env"]


def test_s3_credentials_only_by_secret_reference():
    for m in rendered("res18-cifar10-s3"):
        text = m.to_yaml()
        assert all(value not in text for value in SECRET_VALUES)
        for _, container in _containers(m.body):
            by_name = {e["name"]: e for e in container["env"]}
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                assert by_name[name] == {"name": name, "valueFrom": {"secretKeyRef": {"name": "hpinit-s3", "key": name}}}
        if m.body["kind"] == "RayJob":
            assert "AWS_" not in m.body["spec"]["runtimeEnvYAML"]
    assert not any(m.body["kind"] == "PersistentVolumeClaim" for m in rendered("res18-cifar10-s3"))


def test_s3_without_a_secret_is_refused():
    data = s3_variant(load_yaml(EXPERIMENTS / "quickstart.yaml"))
    data["kubernetes"].pop("s3_secret")
    with pytest.raises(SpecError, match=r"kubernetes\.s3_secret"):
        render(parse_spec(data, source="t"))


def test_pvc_storage_maps_local_roots_onto_the_claim():
    tune = next(m.body for m in rendered("quickstart-pvc") if m.filename == "10-rayjob-tune.yaml")
    assert "--storage /mnt/hpinit --data-root /mnt/hpinit/datasets" in tune["spec"]["entrypoint"]
    claim = next(m.body for m in rendered("quickstart-pvc") if m.body["kind"] == "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_later_stages_wait_suspended_when_the_folder_is_applied():
    bodies = {m.filename: m.body for m in rendered("quickstart-pvc")}
    assert "suspend" not in bodies["10-rayjob-tune.yaml"]["spec"]
    assert bodies["20-rayjob-train.yaml"]["spec"]["suspend"] is True
    assert bodies["30-job-collect.yaml"]["spec"]["suspend"] is True


def test_configmap_holds_the_validated_spec():
    spec = load_spec(EXPERIMENTS / "quickstart.yaml")
    configmap = next(m.body for m in render(spec) if m.body["kind"] == "ConfigMap")
    assert parse_spec(yaml.safe_load(configmap["data"]["spec.yaml"]), source="cm") == spec


def test_render_cli_writes_one_file_per_object(tmp_path):
    result = run_cli("render", str(EXPERIMENTS / "quickstart.yaml"), "-o", str(tmp_path), cwd=REPO)
    assert result.returncode == 0, result.stderr
    paths = result.stdout.split()
    assert [Path(p).name for p in paths] == [m.filename for m in render(load_spec(EXPERIMENTS / "quickstart.yaml"))]
    for path in paths:
        assert len(list(yaml.safe_load_all(Path(path).read_text()))) == 1
