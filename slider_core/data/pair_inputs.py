"""Which pair inputs a training call was given, and whether they make pairs: every way they can be inconsistent
is an error naming the input, before anything is encoded or trained."""
from __future__ import annotations

from typing import Any

import torch

from ..errors import SliderConfigError


def pair_source(before: Any, after: Any, before_latent: Any, after_latent: Any) -> str:
    """"images" or "latents": one source, never both (which one would win is a guess), and both sides of it."""
    has_images = before is not None or after is not None
    has_latents = before_latent is not None or after_latent is not None
    if has_images and has_latents:
        raise SliderConfigError(
            "both images and latents are connected: give 'before'/'after' images (with a VAE) or "
            "'before_latent'/'after_latent', not both"
        )
    if not has_images and not has_latents:
        raise SliderConfigError(
            "no pairs: connect 'before' and 'after' images (and a VAE), or 'before_latent' and 'after_latent'"
        )
    if has_latents:
        _both_sides(before_latent, after_latent, "before_latent", "after_latent", "latents")
        return "latents"
    _both_sides(before, after, "before", "after", "images")
    return "images"


def _both_sides(first: Any, second: Any, first_name: str, second_name: str, kind: str) -> None:
    """A pair needs a 'before' and an 'after': one side alone is the "single image" case, refused."""
    for value, name, other in ((first, first_name, second_name), (second, second_name, first_name)):
        if value is None:
            raise SliderConfigError(
                f"'{name}' is not connected but '{other}' is: a slider learns the difference between the two sides "
                f"of each pair, so connect both {kind}"
            )


def check_pair_images(before: torch.Tensor, after: torch.Tensor) -> None:
    """IMAGE batches (B, H, W, 3) of the same count and size, or a SliderConfigError naming the side at fault."""
    for images, name in ((before, "before"), (after, "after")):
        if images.dim() != 4 or images.shape[-1] != 3:
            channels = images.shape[-1] if images.dim() == 4 else "?"
            raise SliderConfigError(
                f"'{name}' images have shape {tuple(images.shape)} ({channels} channels); expected an RGB IMAGE batch "
                "(batch, height, width, 3): remove the alpha channel or convert the image to RGB first"
            )
    if before.shape[0] != after.shape[0]:
        raise SliderConfigError(
            f"{before.shape[0]} 'before' and {after.shape[0]} 'after' images: pairs are matched by batch index, so "
            "both sides need the same number of images"
        )
    if before.shape[1:3] != after.shape[1:3]:
        raise SliderConfigError(
            f"'before' images are {before.shape[2]}x{before.shape[1]} but 'after' images are "
            f"{after.shape[2]}x{after.shape[1]}: the two images of a pair must show the same framing at the same size"
        )
