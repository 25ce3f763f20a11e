"""Checks on before/after latent batches, so a bad pair set fails before training with the input named."""
from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import SliderConfigError
from .images import PIXEL_MULTIPLE


def check_pairs(before: torch.Tensor, after: torch.Tensor, latent_shape: Callable[[int, int], tuple[int, ...]],
                multiple: int) -> None:
    """Model-space latent batches that can be trained on as N pairs by a model whose latents have shape
    `latent_shape(height, width)` with sides a multiple of `multiple`, or a SliderConfigError naming the input."""
    if before.dim() != after.dim() or before.dim() < 4:
        raise SliderConfigError(
            f"pair latents must be batches (N, C, H, W); got before {tuple(before.shape)}, after {tuple(after.shape)}"
        )
    if before.shape[0] != after.shape[0]:
        raise SliderConfigError(
            f"{before.shape[0]} 'before' and {after.shape[0]} 'after' latents: pairs are matched by index, so both "
            "sides need the same number"
        )
    if before.shape[0] == 0:
        raise SliderConfigError("no pairs: give at least one before/after pair")
    if before.shape[1:] != after.shape[1:]:
        raise SliderConfigError(
            f"'before' latents are {_size(before)} but 'after' latents are {_size(after)}: the two images of a pair "
            "must have the same size"
        )
    height, width = before.shape[-2:]
    expected = latent_shape(height, width)
    if before.shape[1] != expected[0]:
        raise SliderConfigError(
            f"pair latents have {before.shape[1]} channels but the model takes {expected[0]}: encode the images "
            "with this model's VAE"
        )
    if tuple(before.shape[1:]) != tuple(expected):
        raise SliderConfigError(
            f"pair latents have shape {tuple(before.shape[1:])} per image but this model denoises {tuple(expected)}: "
            "encode the images with this model's VAE"
        )
    if height % multiple or width % multiple:
        raise SliderConfigError(
            f"pair latents are {width}x{height}; the model needs sides that are multiples of {multiple} "
            f"(images in multiples of {PIXEL_MULTIPLE} pixels always fit)"
        )


def _size(latents: torch.Tensor) -> str:
    return f"{latents.shape[-1]}x{latents.shape[-2]} ({latents.shape[1]} channels)"
