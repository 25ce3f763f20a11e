"""Test sliders: random low-rank deltas on a tiny host model, keyed the way our writer keys them.

Import after the host is booted (harness.host.Host): the pack's modules are those the host loaded."""
from __future__ import annotations

from typing import Any

import torch
from concept_sliders.nodes.host import models as host_models
from concept_sliders.slider_core.model import slider as core_slider


def random_slider(patcher: Any, method: str = "noxattn", rank: int = 4, alpha: float = 1.0, seed: int = 0,
                  name: str = "test_slider", include_conv: bool = True, magnitude: float = 0.3) -> Any:
    """A slider whose deltas are big enough to change the tiny model's output visibly."""
    generator = torch.Generator().manual_seed(seed)
    paths = host_models.slider_target_paths(patcher, method, include_conv)
    stems = host_models.kohya_stems(patcher, paths)
    weights = patcher.model.state_dict()
    deltas = {}
    for path in paths:
        shape = weights[path + ".weight"].shape
        if len(shape) == 4:
            down = torch.randn(rank, shape[1], shape[2], shape[3], generator=generator) * magnitude
            up = torch.randn(shape[0], rank, 1, 1, generator=generator) * magnitude
        else:
            down = torch.randn(rank, shape[1], generator=generator) * magnitude
            up = torch.randn(shape[0], rank, generator=generator) * magnitude
        deltas[stems[path]] = core_slider.LowRankDelta(down=down, up=up, alpha=alpha)
    architecture = host_models.architecture_id(patcher)
    metadata = core_slider.SliderMetadata(architecture=architecture, title=name, train_method=method,
                                          target="a person", positive="an old person", negative="a young person",
                                          preserve=["male", "female"], guidance=4.0, strength_range=(-2.5, 4.0),
                                          recommended_start=0.2)
    return core_slider.Slider(deltas=deltas, metadata=metadata, name=name)
