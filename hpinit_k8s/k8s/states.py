"""What a stage's status means, per KubeRay 1.7.0 (RayJob) and batch/v1 (Job), and the watch loop.

Pure: statuses in, states out; the loop takes its reader, clock and sleep as arguments.
RayJob: success is `jobDeploymentStatus: Complete` with `jobStatus: SUCCEEDED`; `Failed` and
`ValidationFailed` are failures; `Retrying` is transient even while `jobStatus` still reads FAILED.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Phase(enum.Enum):
    ABSENT = "absent"
    SUSPENDED = "suspended"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED)


@dataclass(frozen=True)
class StageState:
    phase: Phase
    detail: str
    """What the object itself says (deployment status and job status), for progress lines."""
    reason: str = ""
    message: str = ""
    cluster: str = ""
    """The RayCluster KubeRay made for this RayJob, where it says so."""


def rayjob_state(obj: dict[str, Any] | None) -> StageState:
    if obj is None:
        return StageState(Phase.ABSENT, "not created")
    status = obj.get("status") or {}
    deployment = status.get("jobDeploymentStatus", "")
    job = status.get("jobStatus", "")
    detail = f"{deployment or 'New'}" + (f" (job {job})" if job else "")
    common = {"detail": detail, "reason": status.get("reason", ""), "message": status.get("message", ""),
              "cluster": status.get("rayClusterName", "")}
    if deployment == "Complete":
        return StageState(Phase.SUCCEEDED if job == "SUCCEEDED" else Phase.FAILED, **common)
    if deployment in ("Failed", "ValidationFailed"):
        return StageState(Phase.FAILED, **common)
    if deployment in ("Suspended", "Suspending") or (obj.get("spec") or {}).get("suspend"):
        return StageState(Phase.SUSPENDED, **common)
    return StageState(Phase.RUNNING, **common)  # New, Initializing, Waiting, Running, Retrying


def job_state(obj: dict[str, Any] | None) -> StageState:
    """A batch/v1 Job (the collector), from its conditions."""
    if obj is None:
        return StageState(Phase.ABSENT, "not created")
    status = obj.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in conditions or "SuccessCriteriaMet" in conditions:
        return StageState(Phase.SUCCEEDED, "Complete")
    failed = conditions.get("Failed") or conditions.get("FailureTarget")
    if failed:
        return StageState(Phase.FAILED, "Failed", failed.get("reason", ""), failed.get("message", ""))
    if (obj.get("spec") or {}).get("suspend"):
        return StageState(Phase.SUSPENDED, "Suspended")
    return StageState(Phase.RUNNING, f"active {status.get('active', 0)}")


def watch(
    read: Callable[[], StageState],
    *,
    report: Callable[[StageState, float], None],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    interval_s: float = 10.0,
    heartbeat_s: float = 60.0,
) -> StageState:
    """Poll until a terminal state; report on every change and at least every `heartbeat_s`."""
    started = clock()
    last: StageState | None = None
    last_report = started
    while True:
        state = read()
        now = clock()
        if state != last or now - last_report >= heartbeat_s:
            report(state, now - started)
            last, last_report = state, now
        if state.phase.terminal or state.phase == Phase.ABSENT:
            return state
        sleep(interval_s)
