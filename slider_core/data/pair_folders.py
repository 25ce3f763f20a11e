"""Image pairs from the reference's folder layout, as model-space latents with one strength per pair."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import SliderConfigError
from .images import fit_images, pair_frame

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


@dataclass
class PairFolders:
    """The reference's image-pair layout: `folder/<name>/<file>`, one sub-folder per strength; a file of the same
    name in the −s and the +s folder is one pair at strength s."""

    folder: Path
    folders: list[str]
    strengths: list[float]
    before_prompt: str = ""
    after_prompt: str = ""

    def __post_init__(self) -> None:
        if len(self.folders) != len(self.strengths):
            raise SliderConfigError(
                f"{len(self.folders)} folders but {len(self.strengths)} scales: give one scale (strength) per folder "
                "(e.g. folders 'low, high' with scales '-1, 1')"
            )
        for strength in self.strengths:
            if strength > 0 and -strength not in self.strengths:
                raise SliderConfigError(f"strength {strength:g} has no folder at {-strength:g}: every pair needs both sides")
        if not any(strength > 0 for strength in self.strengths):
            raise SliderConfigError("strengths hold no positive strength: pairs are (−s folder, +s folder) for s > 0")



def read_pairs(layout: PairFolders, resolution: int,
               encode: Callable[[torch.Tensor], torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(before latents, after latents, strength per pair): for each positive strength s, every file name present in
    both the −s and the +s folder is a pair (before = −s, after = +s), as the reference pairs them. Images are
    cropped to one frame (the first image's aspect, longer side `resolution`) and encoded by `encode`."""
    befores, afters, strengths = [], [], []
    for strength, folder in zip(layout.strengths, layout.folders, strict=True):
        if strength <= 0:
            continue
        low = layout.folder / layout.folders[layout.strengths.index(-strength)]
        high = layout.folder / folder
        names = sorted(set(_images(low)) & set(_images(high)))
        if not names:
            raise SliderConfigError(f"no image file name is in both {low} and {high}: a pair is the same file name "
                                    "in the −s and the +s folder")
        for name in names:
            befores.append(_read_image(low / name))
            afters.append(_read_image(high / name))
            strengths.append(strength)
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
