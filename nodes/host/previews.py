"""Training previews in the host: latents pictured as KSampler's live previews picture them, and the strip sent
through the same channel (ProgressBar.update_absolute's preview, which the server forwards to the page; headless,
nobody listens and nothing else happens)."""
from __future__ import annotations

from typing import Any

import latent_preview
import numpy as np
import torch
from PIL import Image

from ...slider_core.training.previews import Decode
from . import shims


def latent_decoder(patcher: Any) -> Decode:
    """The host's previewer for the model's latent format (TAESD where the user chose it and has it, else the
    format's Latent2RGB projection); a format without RGB factors gets a grey picture of its channel mean."""
    previewer = shims.latent_previewer(patcher.load_device, patcher.model.latent_format)

    def decode(latents: torch.Tensor) -> torch.Tensor:
        if previewer is None:
            return _grey(latents)
        pictures = [previewer.decode_latent_to_preview(latents[index:index + 1]) for index in range(latents.shape[0])]
        return torch.stack([image_tensor(picture) for picture in pictures])

    return decode


def preview_tuple(strip: torch.Tensor) -> tuple[str, Image.Image, int]:
    """A (1, H, W, 3) IMAGE as the preview argument of ProgressBar.update_absolute, KSampler's format."""
    pixels = (strip[0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    return ("JPEG", Image.fromarray(pixels), latent_preview.MAX_PREVIEW_RESOLUTION)


def image_tensor(picture: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0)


def _grey(latents: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3): each latent's channel mean stretched to [0, 1] (the first frame of video-shaped latents)."""
    if latents.dim() == 5:
        latents = latents[:, :, 0]
    mean = latents.float().mean(dim=1)
    low = mean.amin(dim=(1, 2), keepdim=True)
    high = mean.amax(dim=(1, 2), keepdim=True)
    grey = (mean - low) / (high - low).clamp_min(1e-8)
    return grey.unsqueeze(-1).expand(*grey.shape, 3).cpu()
