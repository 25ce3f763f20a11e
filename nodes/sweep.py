"""Strength sweeps: one slider sampled at several strengths from shared noise, and the labelled grid of the result.

A slider is judged by how smoothly and how exclusively it moves its attribute as the strength s changes (the
paper's figures are exactly such rows). That comparison is only fair when everything except s is fixed, so every
image of a row starts from the same initial noise (and, for ancestral samplers, the same seed for their extra
noise); s = 0 then reproduces the plain model's KSampler image bit for bit, the anchor of the row.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..slider_core.errors import SliderConfigError
from ..slider_core.slider import Slider
from . import host
from .slider_nodes import CATEGORY, SLIDER_TYPE, SliderStrength

STRENGTH_LIMIT = 10.0  # Slider Strength's own input range
DEFAULT_STRENGTHS = "-3, -1.5, 0, 1.5, 3"
SEED_SPACE = 2**64  # the host's seed range: seed + row wraps instead of overflowing torch.manual_seed
MAX_RESOLUTION = 8192


def parse_strengths(text: str) -> list[float]:
    """Strengths separated by commas and/or spaces, each in [-10, 10]; a bad entry is named in the error."""
    entries = [entry for entry in re.split(r"[,\s]+", text.strip()) if entry]
    if not entries:
        raise SliderConfigError(f"strengths {text!r} holds no numbers: give a list such as {DEFAULT_STRENGTHS!r}")
    strengths = []
    for entry in entries:
        try:
            value = float(entry)
        except ValueError:
            raise SliderConfigError(
                f"strengths: entry {entry!r} is not a number; separate numbers with commas or spaces, "
                f"e.g. {DEFAULT_STRENGTHS!r}"
            ) from None
        if not -STRENGTH_LIMIT <= value <= STRENGTH_LIMIT:  # also refuses nan and inf
            raise SliderConfigError(
                f"strengths: entry {entry!r} is outside [-{STRENGTH_LIMIT:g}, {STRENGTH_LIMIT:g}], the range sliders "
                "are meaningful in"
            )
        strengths.append(value)
    return strengths


def format_strengths(strengths: list[float]) -> str:
    """The canonical text of a sweep's strengths; `parse_strengths` reads it back unchanged."""
    return ", ".join(f"{value:g}" for value in strengths)


def strength_label(value: float) -> str:
    """Signed, so the two directions of a slider read apart at a glance: -1.5, 0, +1.5."""
    return "0" if value == 0 else f"{value:+g}"


class SliderSweep:
    DESCRIPTION = (
        "Samples one slider at several strengths (columns) for one or more seeds (rows: seed, seed+1, ...). Every "
        "image of a row starts from the same noise, so the row shows only what the slider changes; strength 0 is "
        "exactly KSampler's image of the input model. To sweep one slider of a chain, apply the others with Slider "
        "Strength first and feed that MODEL in: they stay at their strengths while this one is swept. Decode the "
        "latents and feed them to Slider Sweep Grid."
    )
    CATEGORY = CATEGORY
    FUNCTION = "sweep"
    RETURN_TYPES = ("LATENT", "STRING")
    RETURN_NAMES = ("latents", "strengths")
    OUTPUT_TOOLTIPS = (
        "rows x columns latents, row by row: image r*columns + c is seed+r at the c-th strength.",
        "The strengths as sampled (one per column), for Slider Sweep Grid's labels.",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {
            "model": ("MODEL", {"tooltip": "The diffusion model to sample; the swept slider is applied on top of it, so "
                                            "sliders already applied (Slider Strength) stay fixed."}),
            "slider": (SLIDER_TYPE, {"tooltip": "The slider to sweep, from Load Concept Slider or a training node."}),
            "positive": ("CONDITIONING", {"tooltip": "Prompt conditioning, as for KSampler."}),
            "negative": ("CONDITIONING", {"tooltip": "Negative prompt conditioning, as for KSampler."}),
            "seed": ("INT", {"default": 0, "min": 0, "max": SEED_SPACE - 1, "control_after_generate": True,
                             "tooltip": "Noise seed of the first row; row r uses seed + r."}),
            "rows": ("INT", {"default": 1, "min": 1, "max": 64,
                             "tooltip": "Number of seeds (rows of the grid)."}),
            "steps": ("INT", {"default": 20, "min": 1, "max": 10000, "tooltip": "Sampling steps per image."}),
            "cfg": ("FLOAT", {"default": 7.5, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01,
                              "tooltip": "Classifier-free guidance scale, as for KSampler."}),
            "sampler_name": (host.sampler_names(), {"tooltip": "Sampler, as for KSampler."}),
            "scheduler": (host.scheduler_names(), {"tooltip": "Noise schedule, as for KSampler."}),
            "width": ("INT", {"default": 512, "min": 64, "max": MAX_RESOLUTION, "step": 8,
                              "tooltip": "Image width in pixels."}),
            "height": ("INT", {"default": 512, "min": 64, "max": MAX_RESOLUTION, "step": 8,
                               "tooltip": "Image height in pixels."}),
            "strengths": ("STRING", {"default": DEFAULT_STRENGTHS,
                                     "tooltip": "Slider strengths (one column each), separated by commas or spaces, "
                                                "each between -10 and 10."}),
            "start_percent": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 0.99, "step": 0.01,
                                        "tooltip": "Fraction of sampling after which the slider switches on; "
                                                   "~0.2 keeps the composition of the strength-0 image."}),
        }}

    def sweep(self, model: Any, slider: Slider, positive: Any, negative: Any, seed: int, rows: int, steps: int,
              cfg: float, sampler_name: str, scheduler: str, width: int, height: int, strengths: str,
              start_percent: float) -> tuple[dict[str, torch.Tensor], str]:
        values = parse_strengths(strengths)
        columns = len(values)
        latent = host.empty_latent(model, width, height)
        seeds = [(seed + row) % SEED_SPACE for row in range(rows)]
        progress = host.progress_bar(rows * columns)
        cells: list[torch.Tensor | None] = [None] * (rows * columns)
        # Strength outermost: each patched model is built, loaded and patched once, then sampled for every seed
        # (the same seed draws the same noise, so each row shares its noise across the strengths).
        for column, strength in enumerate(values):
            (slid,) = SliderStrength().apply(model, slider, strength, start_percent, 1.0)
            for row, row_seed in enumerate(seeds):
                host.raise_if_cancelled()
                cells[row * columns + column] = host.sample_seeded(
                    slid, latent, row_seed, steps, cfg, sampler_name, scheduler, positive, negative,
                    on_step=host.raise_if_cancelled,
                )
                progress.update(1)
            del slid
        return {"samples": torch.cat(cells)}, format_strengths(values)


class SliderSweepGrid:
    DESCRIPTION = (
        "Lays out a slider sweep's decoded images as one grid: a column per strength, labelled with the strength "
        "under the images, a row per seed, and an optional title on top."
    )
    CATEGORY = CATEGORY
    FUNCTION = "grid"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("grid",)
    OUTPUT_TOOLTIPS = ("The labelled grid as a single image.",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The sweep's latents decoded, in the sweep's order (row by row)."}),
                "strengths": ("STRING", {"default": DEFAULT_STRENGTHS,
                                         "tooltip": "Slider Sweep's strengths output; its count is the number of "
                                                    "columns."}),
            },
            "optional": {
                "title": ("STRING", {"default": "", "tooltip": "Text above the grid (left empty: no title strip)."}),
            },
        }

    def grid(self, images: torch.Tensor, strengths: str, title: str = "") -> tuple[torch.Tensor]:
        return (sweep_grid(images, parse_strengths(strengths), title),)


def label_font_size(cell_width: int) -> int:
    """Labels scale with the cells (legible on 512 px images, not overwhelming on 64 px ones)."""
    return int(min(48, max(12, cell_width // 8)))


def strip_height(cell_width: int) -> int:
    """Height of the label strip and of the title strip: the font plus half its size above and below."""
    return 2 * label_font_size(cell_width)


def sweep_grid(images: torch.Tensor, strengths: list[float], title: str = "") -> torch.Tensor:
    """(1, H, W, 3) grid: [title strip], rows x columns of cells, a strip with each column's strength."""
    columns = len(strengths)
    count, cell_height, cell_width = images.shape[0], images.shape[1], images.shape[2]
    if count == 0 or count % columns:
        raise SliderConfigError(
            f"Slider Sweep Grid: {count} images cannot fill {columns} columns (one per strength in "
            f"{format_strengths(strengths)!r}); feed it the decoded output of the Slider Sweep these strengths came from"
        )
    rows = count // columns
    cells = _rgb(images)
    strip = strip_height(cell_width)
    top = strip if title else 0
    canvas = torch.ones(top + rows * cell_height + strip, columns * cell_width, 3, dtype=cells.dtype, device=cells.device)
    for index in range(count):
        row, column = divmod(index, columns)
        y, x = top + row * cell_height, column * cell_width
        canvas[y:y + cell_height, x:x + cell_width] = cells[index]
    font = _font(label_font_size(cell_width))
    labels = [(strength_label(value), column * cell_width, cell_width) for column, value in enumerate(strengths)]
    canvas[-strip:] = _text_strip(canvas.shape[1], strip, labels, font).to(canvas)
    if title:
        canvas[:top] = _text_strip(canvas.shape[1], top, [(title, 0, canvas.shape[1])], font).to(canvas)
    return canvas.unsqueeze(0)


def _rgb(images: torch.Tensor) -> torch.Tensor:
    channels = images.shape[-1]
    if channels == 1:
        return images.expand(*images.shape[:-1], 3)
    if channels in (3, 4):
        return images[..., :3]  # an alpha channel has nowhere to go in a grid on white
    raise SliderConfigError(f"Slider Sweep Grid: images have {channels} channels; expected 1, 3 or 4")


def _font(size: int) -> Any:
    """Pillow's built-in font at `size`; Pillow before 10.1 only has the fixed-size bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def _text_strip(width: int, height: int, texts: list[tuple[str, int, int]], font: Any) -> torch.Tensor:
    """White strip with each (text, left, span) centred in its span, or left-aligned where it is too wide."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for text, left, span in texts:
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        x = left + max(0, (span - (x1 - x0)) // 2) - x0
        y = (height - (y1 - y0)) // 2 - y0
        draw.text((x, y), text, fill=(0, 0, 0), font=font)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)


NODE_CLASS_MAPPINGS = {
    "ConceptSlidersSweep": SliderSweep,
    "ConceptSlidersSweepGrid": SliderSweepGrid,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ConceptSlidersSweep": "Slider Sweep",
    "ConceptSlidersSweepGrid": "Slider Sweep Grid",
}
