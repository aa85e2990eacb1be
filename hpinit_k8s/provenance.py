"""What produced a result: saved next to every summary so numbers can be traced to code and image."""

from __future__ import annotations

import datetime
import os
import platform

import ray
import torch

from hpinit_k8s import __version__


def provenance() -> dict[str, str | None]:
    return {
        "hpinit_version": __version__,
        "git_sha": os.environ.get("HPINIT_GIT_SHA"),
        "image": os.environ.get("HPINIT_IMAGE"),
        "ray_version": ray.__version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "written_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
