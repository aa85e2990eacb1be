"""Every registered model builds and maps its dataset's input shape to the right number of classes."""

import pytest
import torch
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision import transforms as T

from hpinit_k8s.errors import SpecError
from hpinit_k8s.models import MODELS, build_model


@pytest.mark.parametrize(("name", "classes", "size"), [
    ("resnet18-cifar", 10, 32),
    ("resnet152-cifar", 100, 32),
    ("resnet18-tinyimagenet", 200, 64),
    ("inception-v3", 101, 299),
])
def test_model_output_shape_on_fakedata(name, classes, size):
    torch.manual_seed(0)
    model = build_model(name, classes)
    fake = datasets.FakeData(2, (3, size, size), classes, transform=T.ToTensor())
    images, _ = next(iter(DataLoader(fake, batch_size=2)))
    model.train()
    assert model(images).shape == (2, classes)


def test_small_cnn_on_digits_shape():
    assert build_model("small-cnn", 10)(torch.zeros(3, 1, 8, 8)).shape == (3, 10)


def test_cifar_resnets_have_a_3x3_stem_and_no_maxpool():
    model = build_model("resnet18-cifar", 10)
    assert model.stem[0].kernel_size == (3, 3)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    depth = sum(isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1) for m in build_model("resnet152-cifar", 10).modules())
    assert depth == 1 + 50  # stem + one 3x3 conv per bottleneck (3 + 8 + 36 + 3)


def test_seeded_init_is_reproducible_and_seed_dependent():
    def first_weight(seed):
        torch.manual_seed(seed)
        return build_model("small-cnn", 10).features[0].weight.clone()

    assert torch.equal(first_weight(1), first_weight(1))
    assert not torch.equal(first_weight(1), first_weight(2))


def test_unknown_model_is_a_spec_error():
    with pytest.raises(SpecError, match="unknown model 'vgg'"):
        build_model("vgg", 10)
    assert "inception-v3" in MODELS
