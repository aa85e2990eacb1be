"""`hpinit submit/status/delete`: a thin client around the rendered dicts (official `kubernetes` client).

Applies the ConfigMap and PVC, then each stage in order, watching it to a terminal state. A stage
whose RayJob already succeeded is skipped; a failed one is replaced and resumes from storage.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from typing import Any

from hpinit_k8s.errors import ClusterError
from hpinit_k8s.k8s.render import GPU_STAGES, Manifest, collector_job, rayjob, render, stage_object_name
from hpinit_k8s.k8s.states import Phase, StageState, job_state, rayjob_state, watch
from hpinit_k8s.spec import ExperimentSpec

RAY_GROUP, RAY_VERSION, RAYJOBS = "ray.io", "v1", "rayjobs"


def _api_error(error: Exception, what: str) -> ClusterError:
    status = getattr(error, "status", None)
    reason = getattr(error, "reason", None) or str(error).splitlines()[0]
    return ClusterError(f"{what}: {status} {reason}" if status else f"{what}: {reason}")


class Cluster:
    """The few API calls submission needs; every failure becomes one `ClusterError` line."""

    def __init__(self, namespace: str, *, context: str | None = None) -> None:
        from kubernetes import client, config

        try:
            try:
                config.load_kube_config(context=context)
            except config.ConfigException:
                config.load_incluster_config()
        except config.ConfigException as error:
            raise ClusterError(f"no Kubernetes configuration found (kubeconfig or in-cluster): {error}") from None
        self.namespace = namespace
        self.core = client.CoreV1Api()
        self.batch = client.BatchV1Api()
        self.custom = client.CustomObjectsApi()
        self.extensions = client.ApiextensionsV1Api()
        self.host = client.Configuration.get_default_copy().host

    def _call(self, what: str, action: Callable[[], Any], *, missing_ok: bool = False) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return action()
        except ApiException as error:
            if missing_ok and error.status == 404:
                return None
            raise _api_error(error, what) from None
        except (HTTPError, OSError) as error:
            raise ClusterError(f"cluster unreachable at {self.host} ({type(error).__name__})") from None

    def preflight(self, spec: ExperimentSpec) -> None:
        """The errors a user can fix before anything is created: CRDs, namespace, named Secret."""
        crd = self._call("reading CRD rayjobs.ray.io",
                         lambda: self.extensions.read_custom_resource_definition("rayjobs.ray.io"), missing_ok=True)
        if crd is None:
            raise ClusterError("the KubeRay CRDs are not installed (no rayjobs.ray.io): install the kuberay-operator 1.7.0 chart")
        if self._call("reading namespace", lambda: self.core.read_namespace(self.namespace), missing_ok=True) is None:
            raise ClusterError(f"namespace {self.namespace} does not exist (kubectl create namespace {self.namespace})")
        for secret in filter(None, (spec.kubernetes.s3_secret,)):
            found = self._call(f"reading Secret {secret}",
                               lambda name=secret: self.core.read_namespaced_secret(name, self.namespace), missing_ok=True)
            if found is None:
                raise ClusterError(f"kubernetes.s3_secret: Secret {secret} does not exist in namespace {self.namespace}")

    def apply_core(self, body: dict[str, Any]) -> str:
        """Create a ConfigMap (replacing it) or a PVC (kept as is: its spec is immutable)."""
        name, kind = body["metadata"]["name"], body["kind"]
        if kind == "ConfigMap":
            existing = self._call("reading ConfigMap", lambda: self.core.read_namespaced_config_map(name, self.namespace),
                                  missing_ok=True)
            if existing is None:
                self._call("creating ConfigMap", lambda: self.core.create_namespaced_config_map(self.namespace, body))
                return "created"
            self._call("replacing ConfigMap", lambda: self.core.replace_namespaced_config_map(name, self.namespace, body))
            return "updated"
        existing = self._call("reading PVC", lambda: self.core.read_namespaced_persistent_volume_claim(name, self.namespace),
                              missing_ok=True)
        if existing is not None:
            return "kept"
        self._call("creating PVC", lambda: self.core.create_namespaced_persistent_volume_claim(self.namespace, body))
        return "created"

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        if kind == "RayJob":
            return self._call(f"reading RayJob {name}", lambda: self.custom.get_namespaced_custom_object(
                RAY_GROUP, RAY_VERSION, self.namespace, RAYJOBS, name), missing_ok=True)
        job = self._call(f"reading Job {name}", lambda: self.batch.read_namespaced_job(name, self.namespace),
                         missing_ok=True)
        return None if job is None else self.batch.api_client.sanitize_for_serialization(job)


    def create(self, body: dict[str, Any]) -> None:
        if body["kind"] == "RayJob":
            self._call("creating RayJob", lambda: self.custom.create_namespaced_custom_object(
                RAY_GROUP, RAY_VERSION, self.namespace, RAYJOBS, body))
        else:
            self._call("creating Job", lambda: self.batch.create_namespaced_job(self.namespace, body))

    def resume(self, kind: str, name: str) -> None:
        patch = {"spec": {"suspend": False}}
        if kind == "RayJob":
            self._call("resuming RayJob", lambda: self.custom.patch_namespaced_custom_object(
                RAY_GROUP, RAY_VERSION, self.namespace, RAYJOBS, name, patch))
        else:
            self._call("resuming Job", lambda: self.batch.patch_namespaced_job(name, self.namespace, patch))

    def delete(self, kind: str, name: str, *, wait_s: float = 300) -> None:
        options = {"propagation_policy": "Foreground"}
        if kind == "RayJob":
            self._call("deleting RayJob", lambda: self.custom.delete_namespaced_custom_object(
                RAY_GROUP, RAY_VERSION, self.namespace, RAYJOBS, name, **options), missing_ok=True)
        elif kind == "Job":
            self._call("deleting Job", lambda: self.batch.delete_namespaced_job(name, self.namespace, **options),
                       missing_ok=True)
        else:
            call = {"ConfigMap": self.core.delete_namespaced_config_map,
                    "PersistentVolumeClaim": self.core.delete_namespaced_persistent_volume_claim}[kind]
            self._call(f"deleting {kind}", lambda: call(name, self.namespace), missing_ok=True)
            return
        deadline = time.monotonic() + wait_s
        while self.get(kind, name) is not None:
            if time.monotonic() > deadline:
                raise ClusterError(f"{kind} {name} is still being deleted after {wait_s:.0f} s")
            time.sleep(2)

    def submitter_pod(self, rayjob_name: str) -> str | None:
        pods = self._call("listing pods", lambda: self.core.list_namespaced_pod(
            self.namespace, label_selector=f"job-name={rayjob_name}"))
        return pods.items[0].metadata.name if pods and pods.items else None

    def list_labelled(self, experiment: str) -> list[dict[str, Any]]:
        """Every object of an experiment, found by its `hpinit.io/experiment` label."""
        selector = f"hpinit.io/experiment={experiment}"
        serialize = self.batch.api_client.sanitize_for_serialization
        rayjobs = self._call("listing RayJobs", lambda: self.custom.list_namespaced_custom_object(
            RAY_GROUP, RAY_VERSION, self.namespace, RAYJOBS, label_selector=selector))["items"]
        objects = [{"kind": "RayJob", **item} for item in rayjobs]
        for kind, lister in (("Job", self.batch.list_namespaced_job),
                             ("ConfigMap", self.core.list_namespaced_config_map),
                             ("PersistentVolumeClaim", self.core.list_namespaced_persistent_volume_claim)):
            items = self._call(f"listing {kind}s", lambda lister=lister: lister(self.namespace, label_selector=selector))
            objects += [{**serialize(item), "kind": kind} for item in items.items]
        return objects


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def failure_hint(spec: ExperimentSpec, stage: str, state: StageState, submitter_pod: str | None) -> str:
    namespace = spec.kubernetes.namespace
    name = stage_object_name(spec, stage)
    why = ": ".join(filter(None, (state.reason, state.message))) or state.detail
    where = f"kubectl logs -n {namespace} job/{name}"
    if submitter_pod:
        where = f"kubectl logs -n {namespace} {submitter_pod}"
    head = f"; head: kubectl logs -n {namespace} -l ray.io/cluster={state.cluster},ray.io/node-type=head" \
        if state.cluster else ""
    return f"stage {stage} failed ({why}); driver logs: {where}{head}"


def _stage_body(spec: ExperimentSpec, stage: str) -> dict[str, Any]:
    body = copy.deepcopy(rayjob(spec, stage) if stage in GPU_STAGES else collector_job(spec))
    body["spec"]["suspend"] = False  # submit starts each stage itself, in order
    return body


def run_stage(cluster: Cluster, spec: ExperimentSpec, stage: str, *, interval_s: float = 10.0) -> StageState:
    body = _stage_body(spec, stage)
    kind, name = body["kind"], body["metadata"]["name"]
    to_state = rayjob_state if kind == "RayJob" else job_state
    state = to_state(cluster.get(kind, name))
    if state.phase == Phase.SUCCEEDED:
        _say(f"[{stage}] {name}: already complete, skipped")
        return state
    if state.phase == Phase.FAILED:
        _say(f"[{stage}] {name}: failed before ({state.reason or state.detail}); replacing it, it resumes from storage")
        cluster.delete(kind, name)
        state = to_state(None)
    if state.phase == Phase.ABSENT:
        cluster.create(body)
        _say(f"[{stage}] {name}: created")
    elif state.phase == Phase.SUSPENDED:
        cluster.resume(kind, name)
        _say(f"[{stage}] {name}: resumed")

    def report(current: StageState, elapsed: float) -> None:
        minutes, seconds = divmod(int(elapsed), 60)
        _say(f"[{stage}] {name}: {current.detail} ({minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d})")

    return watch(lambda: to_state(cluster.get(kind, name)), report=report, sleep=time.sleep, clock=time.monotonic,
                 interval_s=interval_s)


def submit(spec: ExperimentSpec, cluster: Cluster) -> None:
    manifests: list[Manifest] = render(spec)
    cluster.preflight(spec)
    for manifest in manifests:
        if manifest.body["kind"] in ("ConfigMap", "PersistentVolumeClaim"):
            outcome = cluster.apply_core(manifest.body)
            _say(f"{manifest.body['kind']} {manifest.body['metadata']['name']}: {outcome}")
    for stage in (*GPU_STAGES, "collect"):
        state = run_stage(cluster, spec, stage)
        if state.phase != Phase.SUCCEEDED:
            name = stage_object_name(spec, stage)
            pod = cluster.submitter_pod(name) if stage in GPU_STAGES else None
            raise ClusterError(failure_hint(spec, stage, state, pod))


STAGE_ORDER = {"tune": 0, "train": 1, "collect": 2}


def stage_states(objects: list[dict[str, Any]]) -> list[tuple[str, str, StageState]]:
    """(stage, name, state) for each stage object found, in pipeline order."""
    rows = []
    for obj in objects:
        stage = obj["metadata"].get("labels", {}).get("hpinit.io/stage", "")
        if obj["kind"] in ("RayJob", "Job") and stage in STAGE_ORDER:
            state = rayjob_state(obj) if obj["kind"] == "RayJob" else job_state(obj)
            rows.append((stage, obj["metadata"]["name"], state))
    return sorted(rows, key=lambda row: STAGE_ORDER[row[0]])


def delete_experiment(cluster: Cluster, experiment: str, *, purge: bool) -> list[str]:
    """Delete an experiment's objects, stages first; the storage claim (holding the weights) only with purge."""
    order = {"Job": 0, "RayJob": 1, "ConfigMap": 2, "PersistentVolumeClaim": 3}
    deleted = []
    for obj in sorted(cluster.list_labelled(experiment), key=lambda o: order[o["kind"]]):
        if obj["kind"] == "PersistentVolumeClaim" and not purge:
            continue
        cluster.delete(obj["kind"], obj["metadata"]["name"])
        deleted.append(f"{obj['kind']}/{obj['metadata']['name']}")
    return deleted
