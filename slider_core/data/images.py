"""Images fitted to the frame a UNet trains at: cropped to the aspect ratio, never squashed."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import SliderConfigError

PIXEL_MULTIPLE = 64  # SD UNets downsample latents 3x by 2 and the VAE 8x: images in multiples of 64 pixels


def pair_frame(height: int, width: int, resolution: int) -> tuple[int, int]:
    """(height, width) in pixels, multiples of 64, longer side `resolution`, aspect ratio the closest to the
    images' that such a box allows (the shorter side is rounded to the nearest multiple, at least 64)."""
    if resolution < PIXEL_MULTIPLE or resolution % PIXEL_MULTIPLE:
        raise SliderConfigError(f"resolution {resolution} is not a positive multiple of {PIXEL_MULTIPLE}")
    short = min(height, width) * resolution / max(height, width)
    short = min(resolution, max(PIXEL_MULTIPLE, round(short / PIXEL_MULTIPLE) * PIXEL_MULTIPLE))
    return (resolution, short) if height >= width else (short, resolution)


def fit_images(images: torch.Tensor, frame: tuple[int, int]) -> torch.Tensor:
    """ComfyUI IMAGE (B, H, W, C) centre-cropped to the frame's aspect ratio (the largest such box), then
    resized to the frame — cropped, never squashed, so a circle stays a circle."""
    height, width = images.shape[1:3]
    target_height, target_width = frame
    if width * target_height > height * target_width:  # wider than the frame: trim the sides
        crop_height, crop_width = height, max(1, round(height * target_width / target_height))
    else:
        crop_height, crop_width = max(1, round(width * target_height / target_width)), width
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    cropped = images[:, top:top + crop_height, left:left + crop_width].movedim(-1, 1).float()
    if (crop_height, crop_width) != frame:
        cropped = F.interpolate(cropped, size=frame, mode="bilinear", antialias=True, align_corners=False)
    return cropped.clamp(0.0, 1.0).movedim(1, -1).contiguous()
