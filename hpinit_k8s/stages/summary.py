"""Stage hand-offs: summaries on storage, checked by fingerprint so a rerun knows what is already done."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hpinit_k8s.errors import StageError
from hpinit_k8s.layout import Layout
from hpinit_k8s.spec import ExperimentSpec
from hpinit_k8s.storage import Storage


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    output_uri: str
    skipped: bool
    """True when storage already held this stage's complete output for this spec."""


def completed_summary(storage: Storage, path: str, fingerprint: str, stage: str) -> StageOutcome | None:
    """The finished outcome if `path` holds a summary of this spec; a summary of another spec is an error."""
    if not storage.exists(path):
        return None
    found = storage.read_json(path).get("fingerprint")
    if found != fingerprint:
        raise StageError(
            f"{stage}: {storage.uri_of_path(path)} was written from a different spec (fingerprint {found},"
            f" this spec {fingerprint}); use another storage root or experiment name"
        )
    return StageOutcome(stage, storage.uri_of_path(path), skipped=True)


def read_summary(storage: Storage, path: str, *, needed_by: str, producer: str) -> dict:
    if not storage.exists(path):
        raise StageError(f"{needed_by}: no {producer} summary at {storage.uri_of_path(path)} (run the {producer} stage first)")
    return storage.read_json(path)


def curve(frame: pd.DataFrame, column: str, epochs: int) -> list[float]:
    """Per-epoch values from Ray's progress table, one per epoch (a resumed trial may repeat an epoch)."""
    by_epoch = frame.dropna(subset=[column]).drop_duplicates("epoch", keep="last").set_index("epoch")[column]
    values = [float(by_epoch[e]) for e in range(1, epochs + 1) if e in by_epoch.index]
    if len(values) != epochs:
        raise StageError(f"a trial reported {len(values)} of {epochs} epochs of {column}")
    return values


def write_spec(layout: Layout, spec: ExperimentSpec) -> None:
    """The resolved spec beside the results (provenance; `hpinit validate` reads it back)."""
    layout.storage.write_text(layout.spec, spec.to_yaml())
