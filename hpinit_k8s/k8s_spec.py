"""The `kubernetes:` section of the experiment spec: how the stages run on a KubeRay cluster."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hpinit_k8s import __version__

QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"
DNS_1123 = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
LABEL_KEY = r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Toleration(_Section):
    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


class PvcSpec(_Section):
    claim_name: str | None = Field(default=None, pattern=DNS_1123)
    """Use this existing claim; None creates `<experiment>-storage`."""
    storage_class: str | None = None
    """StorageClass of the created claim (must support access_mode); None uses the cluster default."""
    size: str = Field(default="200Gi", pattern=QUANTITY)
    access_mode: Literal["ReadWriteMany", "ReadWriteOnce"] = "ReadWriteMany"
    """ReadWriteMany lets pods on several nodes share the weights; ReadWriteOnce suits one-node clusters."""
    mount_path: str = "/mnt/hpinit"
    """Where pods mount the claim; local storage roots are mapped under it."""


class PodResources(_Section):
    cpu: str = Field(default="4", pattern=QUANTITY)
    memory: str = Field(default="16Gi", pattern=QUANTITY)
    gpus: int = Field(default=1, ge=0)
    """GPUs per pod, requested through `gpu_resource` limits (KubeRay derives Ray's GPU count from them)."""


class KubernetesSpec(_Section):
    namespace: str = Field(default="default", pattern=DNS_1123)
    image: str = f"ghcr.io/hpinit/hpinit-k8s:{__version__}-gpu"
    """Runtime image (images/Dockerfile); its Ray version must equal the pinned one."""
    image_pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"
    pvc: PvcSpec = PvcSpec()
    """Used when storage.uri is not s3://."""
    s3_secret: str | None = Field(default=None, pattern=DNS_1123)
    """Secret whose keys are the env var names in storage.s3 (access_key_env, secret_key_env); mounted by reference."""
    data_claim: str | None = Field(default=None, pattern=DNS_1123)
    """Existing claim with pre-staged datasets, mounted read-write at /mnt/data; None puts datasets on the storage claim."""
    ray_auth: Literal["token", "disabled"] = "token"
    """Ray token authentication through KubeRay's authOptions (default), or RAY_AUTH_MODE=disabled."""
    head: PodResources = PodResources(cpu="2", memory="8Gi", gpus=0)
    worker: PodResources = PodResources()
    worker_replicas: int | None = Field(default=None, ge=1)
    """Worker pods per stage; None sizes the group from the trial count, concurrency and GPUs per trial."""
    gpu_resource: str = "nvidia.com/gpu"
    node_selector: dict[str, str] = Field(default_factory=dict)
    """Node labels for worker pods (GPU nodes)."""
    tolerations: list[Toleration] = Field(default_factory=list)
    shm_size: str = Field(default="8Gi", pattern=QUANTITY)
    """Size of the memory-backed /dev/shm that PyTorch data loader workers need."""
    active_deadline_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    """Each stage's RayJob fails once it has run this long."""
    pre_running_deadline_seconds: int = Field(default=1800, ge=60)
    """Each stage's RayJob fails if its job is not running by then (image pulls, GPU scheduling)."""
    ttl_seconds_after_finished: int = Field(default=600, ge=0)
    """How long a finished stage's Ray cluster lingers for log inspection before it is deleted."""
    backoff_limit: int = Field(default=1, ge=0, le=3)
    """RayJob retries on a new cluster; each retry resumes from storage."""
    submitter_backoff_limit: int = Field(default=0, ge=0, le=3)
    """Retries of KubeRay's submitter Job; above 0 a retry can submit the same stage twice."""
    service_account: str | None = Field(default=None, pattern=DNS_1123)
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra labels on every object."""
