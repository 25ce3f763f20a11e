"""Before/after scenes that differ in exactly one attribute, for image-pair sliders whose difference is known."""
from __future__ import annotations

import dataclasses

import torch

from ...errors import SliderConfigError
from ...seeds import fold_seed
from . import scenes

# attribute → (Scenes field, its range); "before" takes the value 15% into the range, "after" 85%
ATTRIBUTES = {
    "size": ("radius", scenes.RADIUS_RANGE),
    "brightness": ("brightness", scenes.BRIGHTNESS_RANGE),
    "position": ("x", scenes.CENTRE_RANGE),
}
LOW, HIGH = 0.15, 0.85


def pair_scenes(attribute: str, count: int, seed: int) -> tuple[scenes.Scenes, scenes.Scenes]:
    """`count` random scenes, each rendered twice: with the attribute low (before) and high (after); every other
    attribute varies between pairs but is shared inside one.

    The pairs are balanced the way a good pair set is chosen by hand: the dominant colour cycles red, green, blue
    and (unless position is the attribute) the side alternates left, right. With a handful of random scenes the
    set is easily mostly one colour, and a slider then learns "blue" along with the attribute.
    """
    if attribute not in ATTRIBUTES:
        raise SliderConfigError(f"unknown toy-world attribute {attribute!r}; choose {', '.join(ATTRIBUTES)}")
    if count < 1:
        raise SliderConfigError(f"count must be at least 1, got {count}")
    field, (low, high) = ATTRIBUTES[attribute]
    generator = torch.Generator().manual_seed(fold_seed(seed))
    base = balanced(scenes.sample_scenes(count, generator), vary_side=attribute != "position")

    def at(fraction: float) -> scenes.Scenes:
        return dataclasses.replace(base, **{field: torch.full((count,), low + fraction * (high - low))})

    return at(LOW), at(HIGH)


def balanced(batch: scenes.Scenes, vary_side: bool) -> scenes.Scenes:
    """Scene i gets dominant colour i mod 3 (its colour shares permuted) and, with `vary_side`, the left half of
    the centre range for even i and the right half for odd i."""
    index = torch.arange(len(batch))
    batch = scenes.with_dominant(batch, index % len(scenes.COLOURS))
    if not vary_side:
        return batch
    low, high = scenes.CENTRE_RANGE
    return dataclasses.replace(batch, x=low + (batch.x - low) / 2 + (index % 2) * (high - low) / 2)
