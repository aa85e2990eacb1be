"""The submit/watch state machine over KubeRay 1.7.0 status sequences."""

from __future__ import annotations

import pytest

from hpinit_k8s.k8s.states import Phase, job_state, rayjob_state, watch


def rayjob(deployment=None, job=None, reason=None, message=None, suspend=False):
    status = {k: v for k, v in {"jobDeploymentStatus": deployment, "jobStatus": job, "reason": reason,
                                "message": message, "rayClusterName": "c-1" if deployment else None}.items() if v}
    return {"spec": {"suspend": suspend}, "status": status}


def run(sequence, to_state=rayjob_state):
    """Drive the watch loop over a recorded status sequence, with a fake clock."""
    statuses = iter(sequence)
    reports, now = [], [0.0]

    def sleep(seconds):
        now[0] += seconds

    final = watch(lambda: to_state(next(statuses)), report=lambda s, t: reports.append((s.phase, s.detail, t)),
                  sleep=sleep, clock=lambda: now[0], interval_s=10, heartbeat_s=25)
    return final, reports


def test_success_needs_complete_and_succeeded():
    final, reports = run([rayjob(), rayjob("Initializing"), rayjob("Running", "PENDING"), rayjob("Running", "RUNNING"),
                          rayjob("Running", "RUNNING"), rayjob("Complete", "SUCCEEDED")])
    assert final.phase == Phase.SUCCEEDED
    assert [r[1] for r in reports] == ["New", "Initializing", "Running (job PENDING)", "Running (job RUNNING)",
                                       "Complete (job SUCCEEDED)"]


def test_failure_carries_reason_and_message():
    final, _ = run([rayjob("Running", "RUNNING"), rayjob("Failed", "FAILED", "AppFailed", "exit code 2")])
    assert final.phase == Phase.FAILED
    assert (final.reason, final.message, final.cluster) == ("AppFailed", "exit code 2", "c-1")


def test_retrying_is_transient_even_while_job_status_reads_failed():
    final, reports = run([rayjob("Running", "RUNNING"), rayjob("Retrying", "FAILED"), rayjob("New"),
                          rayjob("Running", "RUNNING"), rayjob("Complete", "SUCCEEDED")])
    assert final.phase == Phase.SUCCEEDED
    assert (Phase.RUNNING, "Retrying (job FAILED)", 10.0) in reports


def test_validation_failure_is_terminal():
    final, _ = run([rayjob("ValidationFailed", reason="ValidationFailed", message="spec.entrypoint is empty")])
    assert final.phase == Phase.FAILED and final.message == "spec.entrypoint is empty"


def test_deadline_exceeded():
    final, _ = run([rayjob("Initializing"), rayjob("Failed", reason="DeadlineExceeded",
                                                   message="activeDeadlineSeconds reached")])
    assert final.phase == Phase.FAILED and final.reason == "DeadlineExceeded"


def test_complete_without_success_is_a_failure():
    assert rayjob_state(rayjob("Complete", "FAILED")).phase == Phase.FAILED
    assert rayjob_state(rayjob("Complete", "STOPPED")).phase == Phase.FAILED


def test_job_status_alone_is_not_trusted():
    assert rayjob_state(rayjob("Running", "SUCCEEDED")).phase == Phase.RUNNING
    assert rayjob_state(rayjob("Running", "FAILED")).phase == Phase.RUNNING


def test_suspended_and_absent():
    assert rayjob_state(rayjob(suspend=True)).phase == Phase.SUSPENDED
    assert rayjob_state(None).phase == Phase.ABSENT


def test_heartbeat_reports_a_long_unchanged_state():
    _, reports = run([rayjob("Running", "RUNNING")] * 6 + [rayjob("Complete", "SUCCEEDED")])
    assert [r[2] for r in reports] == [0.0, 30.0, 60.0]


@pytest.mark.parametrize(("conditions", "phase"), [
    ([{"type": "Complete", "status": "True"}], Phase.SUCCEEDED),
    ([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}], Phase.FAILED),
    ([{"type": "Failed", "status": "False"}], Phase.RUNNING),
])
def test_collector_job_states(conditions, phase):
    state = job_state({"spec": {}, "status": {"conditions": conditions}})
    assert state.phase == phase
    if phase == Phase.FAILED:
        assert state.reason == "BackoffLimitExceeded"
