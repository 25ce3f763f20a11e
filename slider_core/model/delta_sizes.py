"""How large a slider's deltas may be: finite files can still hold deltas that make the model predict NaN or inf
(an alpha of 1e20, factors of 1e19, one element of 1e30, a bit flip that turned a factor into 1.2e37).

Two checks, each on the exact ‖ΔW‖_F of every module (`LowRankDelta.norm`, cheap at any rank):

- On loading, without a model: the delta at the largest strength a node accepts must be an fp32 number
  (`FP32_MAX`); beyond it the host's own patch (W + s·ΔW in fp32 or lower) is inf whatever the weight.
- On applying, against the weight it patches: ‖ΔW‖_F ≤ `MAX_RELATIVE_DELTA`·‖W‖_F at strength 1. A concept slider
  moves one attribute while the rest of the image stays put, so its delta is a small part of each weight: a
  toy-world size slider trained 100 steps at lr 1e-3 measures at most 0.033 (median 0.013), the tests' random
  sliders, far larger than trained ones, at most 4 (tests/host/test_bad_sliders.py). At
  100× the base weight is under 1 % of the patched one: the layer computes the delta alone, far outside the
  activations the next layer was trained on, which no usable slider does and every corrupted file above did.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch

from ..errors import SliderFormatError
from ..strengths import STRENGTH_LIMIT
from .slider import LowRankDelta, Slider

FP32_MAX = float(torch.finfo(torch.float32).max)
MAX_RELATIVE_DELTA = 100.0


def check_representable(stem: str, delta: LowRankDelta) -> float:
    """‖ΔW‖_F of a module just read from a file, or an error naming it when no host could apply it."""
    size = delta.norm()
    if not size * STRENGTH_LIMIT <= FP32_MAX:
        raise SliderFormatError(
            f"module {stem}: its delta (alpha {delta.alpha:g} / rank {delta.rank} · lora_up · lora_down) has norm "
            f"{size:.3g}, too large for fp32 at strength {STRENGTH_LIMIT:g} (the model would predict inf/NaN); the "
            "file is corrupt (e.g. a huge alpha or a flipped bit in a factor): re-export or re-download it")
    return size


def check_relative_sizes(slider: Slider, weight_norms: Mapping[str, float], weight_keys: Mapping[str, str]) -> None:
    """Every module's ‖ΔW‖_F against the norm of the model weight it patches (stem → norm, stem → weight key)."""
    for stem, delta in slider.deltas.items():
        size, base = delta.norm(), weight_norms[stem]
        if not size <= MAX_RELATIVE_DELTA * base:
            ratio = f"{size / base:.3g}x" if base > 0 else "infinitely"
            raise SliderFormatError(
                f"slider '{slider.name}', module {stem}: its delta has norm {size:.3g}, {ratio} the norm of the weight "
                f"it patches ({weight_keys[stem]}: {base:.3g}); a slider's delta is a small part of its weight and "
                f"above {MAX_RELATIVE_DELTA:g}x the model would predict noise or NaN. If the slider was loaded, the "
                "file is corrupt (a huge alpha or factor); if it was just trained, lower the learning rate")
