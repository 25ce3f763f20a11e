"""Test-only nodes that put the tiny diffusion transformers into graphs the host's executor runs: a model, random
conditioning of the family's text-encoder shape, and random latent pairs of its latent shape."""
from __future__ import annotations

from typing import Any

import torch

from .dit_models import FAMILIES, random_conditioning, tiny_dit


class TinyDiT:
    CATEGORY = "testing"
    FUNCTION = "load"
    RETURN_TYPES = ("MODEL",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"family": (sorted(FAMILIES),), "seed": ("INT", {"default": 0})}}

    def load(self, family: str, seed: int) -> tuple[Any]:
        return (tiny_dit(family, seed),)


class TinyDiTConditioning:
    CATEGORY = "testing"
    FUNCTION = "make"
    RETURN_TYPES = ("CONDITIONING",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"family": (sorted(FAMILIES),), "seed": ("INT", {"default": 1}),
                             "entries": ("INT", {"default": 1, "min": 1})}}

    def make(self, family: str, seed: int, entries: int) -> tuple[list]:
        return ([entry for index in range(entries) for entry in random_conditioning(family, seed + 100 * index)],)


class TinyDiTLatents:
    """`count` random latents in the raw LATENT convention of the family (what VAE Encode would give)."""

    CATEGORY = "testing"
    FUNCTION = "make"
    RETURN_TYPES = ("LATENT",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"model": ("MODEL",), "count": ("INT", {"default": 2}), "seed": ("INT", {"default": 0}),
                             "size": ("INT", {"default": 8})}}

    def make(self, model: Any, count: int, seed: int, size: int) -> tuple[dict[str, torch.Tensor]]:
        fmt = model.model.latent_format
        shape = (count, fmt.latent_channels, *((1,) if fmt.latent_dimensions == 3 else ()), size, size)
        return ({"samples": torch.randn(shape, generator=torch.Generator().manual_seed(seed))},)


NODES = {"HarnessTinyDiT": TinyDiT, "HarnessTinyDiTConditioning": TinyDiTConditioning,
         "HarnessTinyDiTLatents": TinyDiTLatents}
