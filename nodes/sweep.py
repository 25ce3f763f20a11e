"""Strength sweeps: one slider sampled at several strengths from shared noise, and the labelled grid of the result.

A slider is judged by how smoothly and how exclusively it moves its attribute as the strength s changes (the
paper's figures are exactly such rows). That comparison is only fair when everything except s is fixed, so every
image of a row starts from the same initial noise (and, for ancestral samplers, the same seed for their extra
noise); s = 0 then reproduces the plain model's KSampler image bit for bit, the anchor of the row.
"""
from __future__ import annotations

from typing import Any

import torch

from ..slider_core.charts.grid import sweep_grid
from ..slider_core.model.slider import Slider
from ..slider_core.strengths import format_strengths, parse_strengths
from .apply import SliderStrength
from .host import sampling
from .input_checks import check_numbers
from .types import CATEGORY, SEED_MAX, SLIDER_TYPE

DEFAULT_STRENGTHS = "-3, -1.5, 0, 1.5, 3"
SEED_SPACE = SEED_MAX + 1  # seed + row wraps instead of overflowing the host's seed range
MAX_RESOLUTION = 8192


class SliderSweep:
    NODE_ID = "ConceptSlidersSweep"
    DISPLAY_NAME = "Slider Sweep"
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
            "sampler_name": (sampling.sampler_names(), {"tooltip": "Sampler, as for KSampler."}),
            "scheduler": (sampling.scheduler_names(), {"tooltip": "Noise schedule, as for KSampler."}),
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
        }, "optional": {
            "rows_per_batch": ("INT", {"default": 1, "min": 1, "max": 64,
                                       "tooltip": "Seeds sampled together in one batch: much faster on small models "
                                                  "and GPUs, more memory. Deterministic samplers (euler, heun, "
                                                  "dpmpp_2m, ddim…) give every row the same image as one by one, "
                                                  "up to rounding; ancestral/SDE samplers draw their extra noise "
                                                  "for the whole batch, so their rows differ from KSampler's."}),
        }}

    def sweep(self, model: Any, slider: Slider, positive: Any, negative: Any, seed: int, rows: int, steps: int,
              cfg: float, sampler_name: str, scheduler: str, width: int, height: int, strengths: str,
              start_percent: float, rows_per_batch: int = 1) -> tuple[dict[str, torch.Tensor], str]:
        check_numbers(SliderSweep, seed=seed, rows=rows, steps=steps, cfg=cfg, width=width, height=height,
                      start_percent=start_percent, rows_per_batch=rows_per_batch)
        values = parse_strengths(strengths)
        columns = len(values)
        latent = sampling.empty_latent(model, width, height)
        seeds = [(seed + row) % SEED_SPACE for row in range(rows)]
        progress = sampling.progress_bar(rows * columns)
        cells: list[torch.Tensor | None] = [None] * (rows * columns)
        # Strength outermost: each patched model is built, loaded and patched once, then sampled for every seed
        # (the same seed draws the same noise, so each row shares its noise across the strengths).
        for column, strength in enumerate(values):
            (slid,) = SliderStrength().apply(model, slider, strength, start_percent, 1.0)
            for first in range(0, rows, rows_per_batch):
                batch_seeds = seeds[first:first + rows_per_batch]
                sampling.raise_if_cancelled()
                samples = sampling.sample_seeded(slid, latent, batch_seeds, steps, cfg, sampler_name, scheduler,
                                                 positive, negative, on_step=sampling.raise_if_cancelled)
                for offset, sample in enumerate(samples):
                    cells[(first + offset) * columns + column] = sample[None]
                progress.update(len(batch_seeds))
            del slid
        return {"samples": torch.cat(cells)}, format_strengths(values)


class SliderSweepGrid:
    NODE_ID = "ConceptSlidersSweepGrid"
    DISPLAY_NAME = "Slider Sweep Grid"
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
