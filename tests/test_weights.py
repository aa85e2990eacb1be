"""Weights are safetensors with a verified hash and shapes; resume state loads with weights_only."""

import pytest
import torch

from hpinit_k8s.errors import WeightsError
from hpinit_k8s.models import build_model
from hpinit_k8s.spec import StorageSpec
from hpinit_k8s.storage import open_storage
from hpinit_k8s.weights import load_torch_state, load_weights_into, save_torch_state, save_weights


def test_round_trip_restores_every_tensor(tmp_path):
    storage = open_storage(StorageSpec(uri=str(tmp_path)))
    torch.manual_seed(0)
    source = build_model("small-cnn", 10)
    saved = save_weights(storage, storage.path("w.safetensors"), source)
    target = build_model("small-cnn", 10)
    load_weights_into(target, storage.read_bytes(storage.path_of(saved.uri)), expected_sha256=saved.sha256, source="w")
    for name, tensor in source.state_dict().items():
        assert torch.equal(tensor, target.state_dict()[name]), name
    assert storage.read_bytes(storage.path("w.safetensors"))[:8] != b"\x80\x02\x8a\x0a"  # not a pickle


def test_hash_mismatch_is_refused(tmp_path):
    storage = open_storage(StorageSpec(uri=str(tmp_path)))
    saved = save_weights(storage, storage.path("w.safetensors"), build_model("small-cnn", 10))
    with pytest.raises(WeightsError, match="differs from the tuning summary"):
        load_weights_into(build_model("small-cnn", 10), storage.read_bytes(storage.path("w.safetensors")),
                          expected_sha256="0" * 64, source=saved.uri)


def test_shape_mismatch_is_refused(tmp_path):
    storage = open_storage(StorageSpec(uri=str(tmp_path)))
    saved = save_weights(storage, storage.path("w.safetensors"), build_model("small-cnn", 100))
    with pytest.raises(WeightsError, match="shape"):
        load_weights_into(build_model("small-cnn", 10), storage.read_bytes(storage.path("w.safetensors")),
                          expected_sha256=saved.sha256, source=saved.uri)


def test_optimizer_state_round_trips_without_pickle_code():
    model = build_model("small-cnn", 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.zeros(2, 1, 8, 8)).sum().backward()
    optimizer.step()
    state = load_torch_state(save_torch_state({"optimizer": optimizer.state_dict()}))
    assert state["optimizer"]["param_groups"][0]["lr"] == 0.1
    assert len(state["optimizer"]["state"]) == len(list(model.parameters()))
