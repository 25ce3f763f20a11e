"""Test sliders: random low-rank deltas on a tiny host model, keyed the way our writer keys them."""
from __future__ import annotations

import importlib
from typing import Any

import torch
from host import PACK_NAME

core_slider = importlib.import_module(f"{PACK_NAME}.slider_core.slider")
host_adapter = importlib.import_module(f"{PACK_NAME}.nodes.host")


def random_slider(patcher: Any, method: str = "noxattn", rank: int = 4, alpha: float = 1.0, seed: int = 0,
                  name: str = "test_slider", include_conv: bool = True, magnitude: float = 0.3) -> Any:
    """A slider whose deltas are big enough to change the tiny model's output visibly."""
    generator = torch.Generator().manual_seed(seed)
    paths = host_adapter.slider_target_paths(patcher, method, include_conv)
    stems = host_adapter.kohya_stems(patcher, paths)
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
    architecture = host_adapter.model_architecture(patcher)
    metadata = core_slider.SliderMetadata(architecture=architecture, title=name, train_method=method,
                                          target="a person", positive="an old person", negative="a young person",
                                          preserve=["male", "female"], guidance=4.0, strength_range=(-2.5, 4.0),
                                          recommended_start=0.2)
    return core_slider.Slider(deltas=deltas, metadata=metadata, name=name)
