"""The strip a training node shows while it trains: the target at −m, 0, +m, titled with the step and the loss."""
from __future__ import annotations

import math

import torch

from .grid import label_font, label_font_size, strip_height, sweep_grid, text_strip

MIN_TILE = 128
"""Pixels on a tile's shorter side at least: a latent-space preview of a small model (16 px) would be unreadable."""
OFF_WIDTH = 3 * MIN_TILE


def tile_scale(height: int, width: int) -> int:
    """The integer nearest-neighbour factor that brings a decoded preview up to MIN_TILE (1 if already there)."""
    return max(1, math.ceil(MIN_TILE / min(height, width)))


def preview_strip(images: torch.Tensor, strengths: list[float], step: int, total: int, loss: float,
                  loss_steps: int) -> torch.Tensor:
    """(1, H, W, 3): one tile per strength, labelled, under a title with the step and the mean loss over the
    `loss_steps` steps since the previous preview (one step's loss is too noisy to read a trend from)."""
    scale = tile_scale(images.shape[1], images.shape[2])
    tiles = images.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    window = "" if loss_steps == 1 else f" (mean of {loss_steps} steps)"
    return sweep_grid(tiles, strengths, f"step {step}/{total}, loss {loss:.4g}{window}")


def previews_off() -> torch.Tensor:
    """The preview output of a run with previews off: a strip that says so and how to turn them on."""
    height = strip_height(MIN_TILE)
    text = text_strip(OFF_WIDTH, height, [("previews off: set preview_every above 0", 0, OFF_WIDTH)],
                      label_font(label_font_size(MIN_TILE)))
    return text.unsqueeze(0)
