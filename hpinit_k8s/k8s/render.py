"""Spec -> Kubernetes objects (plain dicts), with no cluster and no text templates.

One ConfigMap holding the spec, a PVC when storage is not S3, a RayJob per GPU stage (tune, train)
and a batch/v1 Job for the collector. Every pod mounts the ConfigMap read-only and reads the spec
the user validated; stages hand off through storage, so the manifests carry no paths between them.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any

import ray
import yaml

from hpinit_k8s import __version__
from hpinit_k8s.errors import SpecError
from hpinit_k8s.k8s_spec import KubernetesSpec, PodResources
from hpinit_k8s.spec import ExperimentSpec

SPEC_DIR = "/etc/hpinit"
SPEC_PATH = f"{SPEC_DIR}/spec.yaml"
DATA_CLAIM_PATH = "/mnt/data"
RAY_UID, RAY_GID = 1000, 100  # the `ray` user of the official Ray images
MAX_RAYJOB_NAME = 47
GPU_STAGES = ("tune", "train")


class _NoAliasDumper(yaml.SafeDumper):
    """Shared label dicts must come out as plain copies, not YAML anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass(frozen=True)
class Manifest:
    filename: str
    body: dict[str, Any]

    def to_yaml(self) -> str:
        return yaml.dump(self.body, Dumper=_NoAliasDumper, sort_keys=False, width=120)


def labels(spec: ExperimentSpec, stage: str) -> dict[str, str]:
    return {
        **spec.kubernetes.labels,
        "app.kubernetes.io/name": "hpinit",
        "app.kubernetes.io/part-of": "hpinit-k8s",
        "app.kubernetes.io/instance": spec.name,
        "app.kubernetes.io/version": __version__,
        "hpinit.io/experiment": spec.name,
        "hpinit.io/stage": stage,
    }


def _metadata(spec: ExperimentSpec, name: str, stage: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": spec.kubernetes.namespace, "labels": labels(spec, stage), **extra}


def uses_s3(spec: ExperimentSpec) -> bool:
    return spec.storage.uri.startswith("s3://")


def claim_name(spec: ExperimentSpec) -> str:
    return spec.kubernetes.pvc.claim_name or f"{spec.name}-storage"


def stage_args(spec: ExperimentSpec, stage: str) -> list[str]:
    """`hpinit run` arguments for one stage: local storage and datasets are mapped onto the mounted claims."""
    args = ["hpinit", "run", SPEC_PATH, "--stage", stage]
    if not uses_s3(spec):
        args += ["--storage", spec.kubernetes.pvc.mount_path]
    if spec.kubernetes.data_claim:
        args += ["--data-root", DATA_CLAIM_PATH]
    elif not uses_s3(spec):
        args += ["--data-root", f"{spec.kubernetes.pvc.mount_path}/datasets"]
    return args


def _env(spec: ExperimentSpec) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": "HPINIT_IMAGE", "value": spec.kubernetes.image}]
    if spec.kubernetes.ray_auth == "disabled":
        env.append({"name": "RAY_AUTH_MODE", "value": "disabled"})
    if uses_s3(spec):
        secret = spec.kubernetes.s3_secret
        s3 = spec.storage.s3
        for name in filter(None, (s3.access_key_env, s3.secret_key_env, s3.session_token_env)):
            env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": name}}})
    return env


def _volumes(spec: ExperimentSpec, *, shm: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [{"name": "spec", "configMap": {"name": f"{spec.name}-spec"}}]
    mounts: list[dict[str, Any]] = [{"name": "spec", "mountPath": SPEC_DIR, "readOnly": True}]
    if shm:
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": spec.kubernetes.shm_size}})
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    if not uses_s3(spec):
        volumes.append({"name": "storage", "persistentVolumeClaim": {"claimName": claim_name(spec)}})
        mounts.append({"name": "storage", "mountPath": spec.kubernetes.pvc.mount_path})
    if spec.kubernetes.data_claim:
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": spec.kubernetes.data_claim}})
        mounts.append({"name": "data", "mountPath": DATA_CLAIM_PATH})
    return volumes, mounts


def _resources(pod: PodResources, gpu_resource: str) -> dict[str, Any]:
    amounts = {"cpu": pod.cpu, "memory": pod.memory}
    limits = {**amounts, **({gpu_resource: str(pod.gpus)} if pod.gpus else {})}
    return {"requests": dict(amounts), "limits": limits}


CONTAINER_SECURITY = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _container(spec: ExperimentSpec, name: str, pod: PodResources, *, shm: bool, **extra: Any) -> tuple[dict, list]:
    volumes, mounts = _volumes(spec, shm=shm)
    container = {
        "name": name,
        "image": spec.kubernetes.image,
        "imagePullPolicy": spec.kubernetes.image_pull_policy,
        **extra,
        "env": _env(spec),
        "resources": _resources(pod, spec.kubernetes.gpu_resource),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": mounts,
    }
    return container, volumes


def _pod_spec(spec: ExperimentSpec, container: dict, volumes: list, *, gpu_node: bool, **extra: Any) -> dict:
    pod: dict[str, Any] = {
        **extra,
        "securityContext": {"runAsUser": RAY_UID, "runAsGroup": RAY_GID, "fsGroup": RAY_GID},
        "containers": [container],
    }
    if volumes:
        pod["volumes"] = volumes
    if spec.kubernetes.service_account:
        pod["serviceAccountName"] = spec.kubernetes.service_account
    if gpu_node and spec.kubernetes.node_selector:
        pod["nodeSelector"] = dict(spec.kubernetes.node_selector)
    if gpu_node and spec.kubernetes.tolerations:
        pod["tolerations"] = [t.model_dump(exclude_none=True) for t in spec.kubernetes.tolerations]
    return pod


def stage_trials(spec: ExperimentSpec, stage: str) -> int:
    return spec.tuning.trials if stage == "tune" else len(spec.policies()) * spec.training.runs_per_policy


def worker_replicas(spec: ExperimentSpec, stage: str) -> int:
    """Enough workers for the trials that may run at once, by GPUs (or CPUs on a CPU-only cluster)."""
    k8s = spec.kubernetes
    if k8s.worker_replicas is not None:
        return k8s.worker_replicas
    concurrent = min(stage_trials(spec, stage), spec.resources.max_concurrent_trials or stage_trials(spec, stage))
    per_trial = getattr(spec.resources, stage)
    if per_trial.gpus and k8s.worker.gpus:
        return max(1, math.ceil(concurrent * per_trial.gpus / k8s.worker.gpus))
    return max(1, math.ceil(concurrent * per_trial.cpus / cpu_cores(k8s.worker.cpu)))


def cpu_cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def rayjob_name(spec: ExperimentSpec, stage: str) -> str:
    name = f"{spec.name}-{stage}"
    assert len(name) <= MAX_RAYJOB_NAME  # the spec caps experiment names at 40 characters
    return name


def stage_object_name(spec: ExperimentSpec, stage: str) -> str:
    """The RayJob of a GPU stage, or the collector's Job."""
    return rayjob_name(spec, stage) if stage in GPU_STAGES else f"{spec.name}-collect"


def rayjob(spec: ExperimentSpec, stage: str) -> dict[str, Any]:
    k8s: KubernetesSpec = spec.kubernetes
    stage_labels = labels(spec, stage)
    head, head_volumes = _container(
        spec, "ray-head", k8s.head, shm=True,
        ports=[{"containerPort": 6379, "name": "gcs-server"}, {"containerPort": 8265, "name": "dashboard"},
               {"containerPort": 10001, "name": "client"}],
    )
    worker, worker_volumes = _container(spec, "ray-worker", k8s.worker, shm=True)
    replicas = worker_replicas(spec, stage)
    submitter, _ = _container(spec, "ray-job-submitter", PodResources(cpu="500m", memory="512Mi", gpus=0), shm=False)
    submitter.pop("volumeMounts")
    body = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": _metadata(spec, rayjob_name(spec, stage), stage),
        "spec": {
            "entrypoint": shlex.join(stage_args(spec, stage)),
            "runtimeEnvYAML": yaml.safe_dump({"env_vars": {"PYTHONUNBUFFERED": "1", "HPINIT_STAGE": stage}},
                                             sort_keys=True),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": k8s.ttl_seconds_after_finished,
            "activeDeadlineSeconds": k8s.active_deadline_seconds,
            "preRunningDeadlineSeconds": k8s.pre_running_deadline_seconds,
            "backoffLimit": k8s.backoff_limit,
            "submitterConfig": {"backoffLimit": k8s.submitter_backoff_limit},
            "submitterPodTemplate": {
                "metadata": {"labels": stage_labels},
                "spec": _pod_spec(spec, submitter, [], gpu_node=False, restartPolicy="Never"),
            },
            "rayClusterSpec": {
                "rayVersion": ray.__version__,
                "authOptions": {"mode": k8s.ray_auth},
                "headGroupSpec": {
                    "rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0"},
                    "template": {"metadata": {"labels": stage_labels},
                                 "spec": _pod_spec(spec, head, head_volumes, gpu_node=False)},
                },
                "workerGroupSpecs": [{
                    "groupName": "gpu" if k8s.worker.gpus else "cpu",
                    "replicas": replicas,
                    "minReplicas": replicas,
                    "maxReplicas": replicas,
                    "rayStartParams": {},
                    "template": {"metadata": {"labels": stage_labels},
                                 "spec": _pod_spec(spec, worker, worker_volumes, gpu_node=bool(k8s.worker.gpus))},
                }],
            },
        },
    }
    if stage != "tune":
        # Applied with the folder, a later stage waits suspended; `hpinit submit` starts it when its turn comes.
        body["metadata"]["annotations"] = {"hpinit.io/after": rayjob_name(spec, "tune")}
        body["spec"]["suspend"] = True
    return body


def collector_job(spec: ExperimentSpec) -> dict[str, Any]:
    k8s = spec.kubernetes
    container, volumes = _container(spec, "collect", PodResources(cpu="1", memory="2Gi", gpus=0), shm=False,
                                    command=stage_args(spec, "collect"))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {**_metadata(spec, stage_object_name(spec, "collect"), "collect"),
                     "annotations": {"hpinit.io/after": rayjob_name(spec, "train")}},
        "spec": {
            "suspend": True,
            "backoffLimit": k8s.backoff_limit,
            "activeDeadlineSeconds": 3600,
            "ttlSecondsAfterFinished": max(k8s.ttl_seconds_after_finished, 3600),
            "template": {
                "metadata": {"labels": labels(spec, "collect")},
                "spec": _pod_spec(spec, container, volumes, gpu_node=False, restartPolicy="Never"),
            },
        },
    }


def spec_configmap(spec: ExperimentSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(spec, f"{spec.name}-spec", "shared"),
        "data": {"spec.yaml": spec.to_yaml()},
    }


def storage_claim(spec: ExperimentSpec) -> dict[str, Any]:
    pvc = spec.kubernetes.pvc
    claim: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _metadata(spec, claim_name(spec), "shared"),
        "spec": {"accessModes": [pvc.access_mode], "resources": {"requests": {"storage": pvc.size}}},
    }
    if pvc.storage_class:
        claim["spec"]["storageClassName"] = pvc.storage_class
    return claim


def check_renderable(spec: ExperimentSpec) -> None:
    if uses_s3(spec) and not spec.kubernetes.s3_secret:
        s3 = spec.storage.s3
        raise SpecError(f"kubernetes.s3_secret: s3:// storage needs the name of a Secret with keys "
                        f"{s3.access_key_env} and {s3.secret_key_env}")
    if spec.resources.tune.gpus > spec.kubernetes.worker.gpus or spec.resources.train.gpus > spec.kubernetes.worker.gpus:
        raise SpecError(f"kubernetes.worker.gpus: {spec.kubernetes.worker.gpus} per worker pod is fewer than a"
                        f" trial asks for (resources.tune.gpus {spec.resources.tune.gpus:g},"
                        f" resources.train.gpus {spec.resources.train.gpus:g})")


def render(spec: ExperimentSpec) -> list[Manifest]:
    """Every object of the experiment, in apply order (ConfigMap, PVC, tune, train, collect)."""
    check_renderable(spec)
    manifests = [Manifest("00-configmap-spec.yaml", spec_configmap(spec))]
    if not uses_s3(spec) and spec.kubernetes.pvc.claim_name is None:
        manifests.append(Manifest("01-pvc-storage.yaml", storage_claim(spec)))
    manifests.append(Manifest("10-rayjob-tune.yaml", rayjob(spec, "tune")))
    manifests.append(Manifest("20-rayjob-train.yaml", rayjob(spec, "train")))
    manifests.append(Manifest("30-job-collect.yaml", collector_job(spec)))
    return manifests
