"""The shapes world's sliders, prompt checks and image pairs, as data the scripts and tests share.

Every prompt a slider evaluates is a caption the world was trained on: the slider words go through the
preservation concepts' `{}` (slider_core/prompts.py), e.g. "a shape {} on a dark background" with "at the top"
gives "a shape at the top on a dark background". Height and background are entangled in the training data
(scenes.entangle_height_and_background), so each of those two sliders preserves the other's poles.

Aspect has no text slider and no prompt check: the captions name it ("tall", "wide") but the base model does not
bind those words to it (benchmarks/README.md, "The shapes world's base model"), so a prompt slider for it would
measure the base model, not the pack. It stays a measured attribute every slider must leave alone, and an
image-pair attribute, since pairs teach it from pictures rather than words.
"""
from __future__ import annotations

import dataclasses

import torch

from ...errors import SliderConfigError
from . import scenes

TARGET = "a shape"  # what every slider acts on, and the neutral prompt sweeps are sampled with

# measured attribute → Train Slider From Prompts' target/positive/negative/preserve (positive raises the measure)
SLIDERS: dict[str, dict[str, str]] = {
    "warmth": dict(target=TARGET, positive="warm", negative="cool", preserve="a {} shape"),
    "x": dict(target=TARGET, positive="on the right", negative="on the left", preserve="a shape {}"),
    "y": dict(target=TARGET, positive="at the bottom", negative="at the top",
              preserve="\n".join(f"a shape {{}} {phrase}" for phrase in scenes.BACKGROUND_PHRASES)),
    "background": dict(target=TARGET, positive="on a light background", negative="on a dark background",
                       preserve="\n".join(f"a shape {phrase} {{}}" for phrase in scenes.Y_PHRASES)),
}

# (attribute, low prompt, high prompt): the pole pairs scripts/check_toyworld.py holds the base model to
CHECK_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("warmth", "a cool shape", "a warm shape"),
    ("x", "a shape on the left", "a shape on the right"),
    ("y", "a shape at the top", "a shape at the bottom"),
    ("background", "a shape on a dark background", "a shape on a light background"),
)
SPREAD_PROMPTS = ("", TARGET)  # must cover the whole world
SPREAD_ATTRIBUTES = ("aspect", "warmth", "x", "y", "background", "size")
ENTANGLED = {"y": ("background",), "background": ("y",)}  # attributes a pole pair may drag along by design
# The preservation check: (slider, the attributes its training data drags along, the preserve template that names
# neither, so the slider trains without preservation); its SLIDERS entry is the preserved twin.
PRESERVATION_CHECK = ("y", ("background",), "a shape {}")

# attribute → (Scenes field, its range) for image pairs; "before" takes the value 15% into the range, "after" 85%
PAIR_ATTRIBUTES: dict[str, tuple[str, tuple[float, float]]] = {
    "aspect": ("aspect", scenes.ASPECT_RANGE),
    "warmth": ("warmth", scenes.WARMTH_RANGE),
    "x": ("x", scenes.CENTRE_RANGE),
    "y": ("y", scenes.CENTRE_RANGE),
    "background": ("background", scenes.BACKGROUND_RANGE),
}
LOW, HIGH = 0.15, 0.85


def pair_scenes(attribute: str, count: int, seed: int) -> tuple[scenes.Scenes, scenes.Scenes]:
    """`count` random scenes, each twice: with the attribute low (before) and high (after); every other attribute
    varies between pairs but is shared inside one, and is balanced over its two caption poles (see balanced)."""
    if attribute not in PAIR_ATTRIBUTES:
        raise SliderConfigError(f"unknown shapes attribute {attribute!r}; choose {', '.join(PAIR_ATTRIBUTES)}")
    if count < 1:
        raise SliderConfigError(f"count must be at least 1, got {count}")
    generator = torch.Generator().manual_seed(seed)
    base = balanced(scenes.sample_scenes(count, generator), generator, skip=attribute)
    field, (low, high) = PAIR_ATTRIBUTES[attribute]

    def at(fraction: float) -> scenes.Scenes:
        return dataclasses.replace(base, **{field: torch.full((count,), low + fraction * (high - low))})

    return at(LOW), at(HIGH)


def balanced(batch: scenes.Scenes, generator: torch.Generator, skip: str = "") -> scenes.Scenes:
    """The scenes with every pair attribute but `skip` put on its low half for one half of the scenes and its
    high half for the other, in an independent random order per attribute.

    A handful of random scenes is easily mostly on one side of some attribute, and a slider trained on them then
    learns that side along with its own attribute; hand-picked pair sets are balanced, so these are too.
    """
    n = len(batch)
    changes = {}
    for name, (field, (low, high)) in PAIR_ATTRIBUTES.items():
        if name == skip:
            continue
        upper = (torch.arange(n) % 2)[torch.randperm(n, generator=generator)].float()
        half = (getattr(batch, field) - low) / 2  # the value's place within its range, squeezed into one half
        changes[field] = low + half + upper * (high - low) / 2
    return dataclasses.replace(batch, **changes)
