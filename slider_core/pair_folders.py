"""Image pairs from the reference's folder layout, as model-space latents with one strength per pair."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from .config_files import PairFolders
from .errors import SliderConfigError
from .train_pairs import fit_images, pair_frame

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def read_pairs(layout: PairFolders, resolution: int,
               encode: Callable[[torch.Tensor], torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(before latents, after latents, strength per pair): for each positive scale s, every file name present in
    both the −s and the +s folder is a pair (before = −s, after = +s), as the reference pairs them. Images are
    cropped to one frame (the first image's aspect, longer side `resolution`) and encoded by `encode`."""
    befores, afters, strengths = [], [], []
    for scale, folder in zip(layout.scales, layout.folders, strict=True):
        if scale <= 0:
            continue
        low = layout.folder / layout.folders[layout.scales.index(-scale)]
        high = layout.folder / folder
        names = sorted(set(_images(low)) & set(_images(high)))
        if not names:
            raise SliderConfigError(f"no image file name is in both {low} and {high}: a pair is the same file name "
                                    "in the −s and the +s folder")
        for name in names:
            befores.append(_read_image(low / name))
            afters.append(_read_image(high / name))
            strengths.append(scale)
    first = befores[0]
    frame = pair_frame(first.shape[1], first.shape[2], resolution)
    before = torch.cat([fit_images(image, frame) for image in befores])
    after = torch.cat([fit_images(image, frame) for image in afters])
    latents = encode(torch.cat([before, after]))
    count = before.shape[0]
    return latents[:count].cpu(), latents[count:].cpu(), torch.tensor(strengths)


def _images(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise SliderConfigError(f"image folder not found: {folder}")
    return [path.name for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES]


def _read_image(path: Path) -> torch.Tensor:
    """(1, H, W, 3) in [0, 1], the layout fit_images takes."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(pixels)[None]
