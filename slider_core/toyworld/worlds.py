"""The pack's evaluation worlds by name, so training, checks and experiments take a world instead of one module.

Each world is a scenes module (sample, entangle, render, caption), a metrics module (measure), a prompts module
(slider specifications, prompt checks) and the shipped weight file of its base model. The semantic claims are
measured in every world, so no default is tuned to one world's make.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from ..errors import SliderConfigError
from . import model
from .blobs import metrics as blob_metrics
from .blobs import pairs as blob_pairs
from .blobs import prompts as blob_prompts
from .blobs import scenes as blob_scenes
from .shapes import metrics as shape_metrics
from .shapes import prompts as shape_prompts
from .shapes import scenes as shape_scenes


@dataclass(frozen=True)
class World:
    """One evaluation world: what its base model is trained on and how its attributes are read back."""

    name: str
    scenes: ModuleType
    metrics: ModuleType
    prompts: ModuleType
    weights_file: Path
    training_scenes: Callable[[int, torch.Generator], Any]  # (n, generator) → the entangled training Scenes
    unet_config: dict[str, Any]
    smallest_size: float  # metrics.measure's "size" of the world's smallest training object
    # (measured attribute, count, seed) → (before, after) Scenes differing in that attribute alone, low → high
    pair_scenes: Callable[[str, int, int], tuple[Any, Any]]
    pair_attributes: tuple[str, ...]  # the measured attributes image pairs are made for

    def visible(self, size: torch.Tensor) -> torch.Tensor:
        """Whether each measured size still shows an object: at least half the smallest the base model was shown.

        A slider that "shrinks" by erasing the object scores well on size yet fails the user, so reports count
        the samples that keep an object.
        """
        return size >= self.smallest_size / 2

    def measured_training_scenes(self, count: int = 4096) -> dict[str, torch.Tensor]:
        """Every attribute as measured over `count` of the base model's training scenes (seed 0): the yardstick
        for what the data spans and how much a prompt collapses its spread."""
        scenes = self.training_scenes(count, torch.Generator().manual_seed(0))
        return self.metrics.measure(self.scenes.render(scenes))

    @property
    def latent_size(self) -> int:
        return self.scenes.LATENT_SIZE


def _blob_training_scenes(n: int, generator: torch.Generator) -> Any:
    return blob_scenes.entangle_size_and_colour(blob_scenes.sample_scenes(n, generator), generator)


_BLOB_PAIR_NAMES = {"size": "size", "brightness": "brightness", "x": "position"}  # measured → pairs.ATTRIBUTES


def _blob_pair_scenes(attribute: str, count: int, seed: int) -> tuple[Any, Any]:
    """The blob world's pairs by measured attribute name (its pairs module calls x "position", as its node does)."""
    if attribute not in _BLOB_PAIR_NAMES:
        raise SliderConfigError(f"no image pairs for blob attribute {attribute!r}; choose {', '.join(_BLOB_PAIR_NAMES)}")
    return blob_pairs.pair_scenes(_BLOB_PAIR_NAMES[attribute], count, seed)


WORLDS: dict[str, World] = {
    "blobs": World("blobs", blob_scenes, blob_metrics, blob_prompts, model.WEIGHTS_FILE, _blob_training_scenes,
                   model.UNET_CONFIG, smallest_size=blob_scenes.RADIUS_RANGE[0], pair_scenes=_blob_pair_scenes,
                   pair_attributes=tuple(_BLOB_PAIR_NAMES)),
    "shapes": World("shapes", shape_scenes, shape_metrics, shape_prompts,
                    Path(shape_scenes.__file__).resolve().parent / "weights" / "shapes.safetensors",
                    shape_scenes.training_scenes, model.UNET_CONFIG, smallest_size=shape_scenes.SIZE_RANGE[0],
                    pair_scenes=shape_prompts.pair_scenes, pair_attributes=tuple(shape_prompts.PAIR_ATTRIBUTES)),
}


def get(name: str) -> World:
    """The world called `name` (see WORLDS)."""
    try:
        return WORLDS[name]
    except KeyError:
        raise SliderConfigError(f"unknown toy world {name!r}; choose {', '.join(WORLDS)}") from None
