"""Weights on storage as safetensors (never pickles), with a content hash checked on every load."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from hpinit_k8s.errors import WeightsError
from hpinit_k8s.storage import Storage


def state_to_bytes(model: nn.Module) -> bytes:
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    return save_safetensors(state)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SavedWeights:
    uri: str
    sha256: str
    bytes: int


def save_weights(storage: Storage, path: str, model: nn.Module) -> SavedWeights:
    data = state_to_bytes(model)
    storage.write_bytes(path, data)
    return SavedWeights(uri=storage.uri_of_path(path), sha256=sha256(data), bytes=len(data))


def check_sha256(data: bytes, expected: str, *, source: str) -> None:
    actual = sha256(data)
    if actual != expected:
        raise WeightsError(f"{source}: sha256 {actual[:12]}… differs from the tuning summary's"
                           f" {expected[:12]}… (the file changed after tuning)")


def verify_stored(storage: Storage, saved: dict) -> None:
    """Check a weight file against the hash the tuning summary recorded for it, before trials rely on it."""
    check_sha256(storage.read_bytes(storage.path_of(saved["uri"])), saved["sha256"], source=saved["uri"])


def load_weights_into(model: nn.Module, data: bytes, *, expected_sha256: str, source: str) -> None:
    """Load verified weights: the hash must match the tuning summary, names and shapes the model."""
    check_sha256(data, expected_sha256, source=source)
    state = load_safetensors(data)
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise WeightsError(f"{source}: tensor names differ from the model (missing {missing[:3]}, unexpected {unexpected[:3]})")
    for name, tensor in state.items():
        if tensor.shape != own[name].shape:
            raise WeightsError(f"{source}: {name} has shape {tuple(tensor.shape)}, the model expects {tuple(own[name].shape)}")
    model.load_state_dict(state)


def save_torch_state(state: dict) -> bytes:
    """Optimiser/scheduler state for resume checkpoints; read back only with `weights_only=True`."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def load_torch_state(data: bytes) -> dict:
    return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
