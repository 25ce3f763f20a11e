"""Toy World Pairs: before/after latents that differ in exactly one attribute, for image-pair sliders in graphs.

Real image pairs need a VAE and photographs; the toy world renders its scenes straight into latents, so a graph
(and the tests) can feed Train Slider From Image Pairs with pairs whose difference is known and measurable.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ..slider_core.errors import SliderConfigError
from ..slider_core.toyworld import scenes
from .toyworld import CATEGORY

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
    base = balanced(scenes.sample_scenes(count, torch.Generator().manual_seed(seed)), vary_side=attribute != "position")

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


class ToyWorldPairs:
    DESCRIPTION = (
        "Renders before/after pairs of toy-world scenes that differ only in one attribute (small vs large, dim vs "
        "bright, left vs right), as latents for Train Slider From Image Pairs. Every other attribute varies "
        "between pairs, so the slider must learn the attribute, not a scene. For testing and demonstrations."
    )
    CATEGORY = CATEGORY
    FUNCTION = "pairs"
    RETURN_TYPES = ("LATENT", "LATENT")
    RETURN_NAMES = ("before", "after")
    OUTPUT_TOOLTIPS = (
        "The scenes with the attribute low (small / dim / on the left), one per pair.",
        "The same scenes with the attribute high (large / bright / on the right), in the same order.",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {
            "attribute": (list(ATTRIBUTES), {"default": "size", "tooltip": "The one attribute that differs inside "
                                                                           "each pair."}),
            "count": ("INT", {"default": 6, "min": 1, "max": 256, "tooltip": "Number of pairs."}),
            "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF,
                             "tooltip": "Seeds the scenes: same seed, same pairs."}),
        }}

    def pairs(self, attribute: str, count: int, seed: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        before, after = pair_scenes(attribute, count, seed % 2**63)
        return {"samples": scenes.render(before)}, {"samples": scenes.render(after)}


NODE_CLASS_MAPPINGS = {"ConceptSlidersToyWorldPairs": ToyWorldPairs}
NODE_DISPLAY_NAME_MAPPINGS = {"ConceptSlidersToyWorldPairs": "Toy World Pairs (testing)"}
