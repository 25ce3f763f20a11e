"""The embedded toy world as nodes: its base model and "VAE", measurements of a sweep, and image pairs.

Real weights and photographs are not needed to train, apply and judge sliders: the toy world's scenes render
straight into latents whose attributes can be measured back (slider_core/toyworld).
"""
from __future__ import annotations

import os
from typing import Any

import torch

from ..slider_core.io.names import numbered_path
from ..slider_core.strengths import parse_strengths
from ..slider_core.toyworld import measurement
from ..slider_core.toyworld.blobs import metrics, pairs, scenes
from .host import folders, toyworld
from .input_checks import check_numbers
from .types import SEED_MAX, TESTING_CATEGORY


class ToyWorldLoader:
    NODE_ID = "ConceptSlidersToyWorldLoader"
    DISPLAY_NAME = "Toy World Loader (testing)"
    DESCRIPTION = (
        "Loads the pack's toy-world base model: a tiny SD1.x-layout UNet and CLIP text encoder trained on 16x16 "
        "latents of one soft blob with a measurable size, colour, brightness and left/right position. Prompts "
        "like 'a large red blob on the left'; sample 128x128 (16x16 latents) and view with Toy World Decode. "
        "Size and colour are entangled on purpose, as concepts are in real data: large blobs are mostly red, "
        "small ones mostly blue, so a size slider needs the colours as preservation concepts. "
        "For testing and demonstrating sliders without downloading real weights."
    )
    CATEGORY = TESTING_CATEGORY
    FUNCTION = "load"
    RETURN_TYPES = ("MODEL", "CLIP")
    RETURN_NAMES = ("model", "clip")
    OUTPUT_TOOLTIPS = (
        "The toy-world denoiser (SD1.x layout, epsilon prediction); sample it at 128x128.",
        "Its text encoder: words it knows are small/large, dim/bright, red/green/blue, blob, on the left/right.",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {}}

    def load(self) -> tuple[Any, Any]:
        return toyworld.load_toyworld()


class ToyFlowWorldLoader(ToyWorldLoader):
    """The same node for the flow world: same inputs (none), outputs and category; another model behind them."""

    NODE_ID = "ConceptSlidersToyFlowWorldLoader"
    DISPLAY_NAME = "Toy Flow World Loader (testing)"
    DESCRIPTION = (
        "Loads the toy world as a flow-matching transformer: the same blob scenes, prompts and text encoder as "
        "Toy World Loader, but the denoiser is a tiny FLUX.1-schnell-layout DiT (double- and single-stream blocks, "
        "velocity prediction, no distilled guidance). Sample 128x128 with CFG, view with Toy World Decode, train "
        "and measure sliders exactly as on the UNet world. Needs a ComfyUI with the FLUX family (0.3 or newer)."
    )
    OUTPUT_TOOLTIPS = (
        "The toy flow world's transformer (FLUX.1 schnell layout, flow matching); sample it at 128x128.",
        "The toy world's text encoder (the same as Toy World Loader's).",
    )

    def load(self) -> tuple[Any, Any]:
        return toyworld.load_flow_toyworld()


class ToyWorldDecode:
    NODE_ID = "ConceptSlidersToyWorldDecode"
    DISPLAY_NAME = "Toy World Decode (testing)"
    DESCRIPTION = (
        "Decodes toy-world latents into an image: the blob's red, green and blue channels shown directly, 8x "
        "upscaled like a VAE would. Deterministic; only meaningful for latents from the toy-world model."
    )
    CATEGORY = TESTING_CATEGORY
    FUNCTION = "decode"
    RETURN_TYPES = ("IMAGE",)
    OUTPUT_TOOLTIPS = ("The rendered scenes, 8 pixels per latent pixel.",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"samples": ("LATENT", {"tooltip": "Latents sampled from the toy-world model."})}}

    def decode(self, samples: dict[str, Any]) -> tuple[torch.Tensor]:
        return (scenes.latent_to_image(samples["samples"]),)


class ToyWorldMeasure:
    NODE_ID = "ConceptSlidersToyWorldMeasure"
    DISPLAY_NAME = "Toy World Measure (testing)"
    DESCRIPTION = (
        "Measures size, position, colour shares and brightness of every toy-world latent in a Slider Sweep's "
        "output, writes them to a CSV in the output folder (one row per image) and returns a summary table: "
        "per attribute, Spearman ρ against strength and the change from lowest to highest strength in units of "
        "the attribute's spread across seeds."
    )
    CATEGORY = TESTING_CATEGORY
    FUNCTION = "measure"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("summary",)
    OUTPUT_TOOLTIPS = ("Per-attribute ρ, change and effect size of the sweep.",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {
            "samples": ("LATENT", {"tooltip": "Toy-world latents from Slider Sweep (rows × strengths, row-major)."}),
            "strengths": ("STRING", {"default": "-3, -1.5, 0, 1.5, 3",
                                     "tooltip": "The sweep's strengths output (link Slider Sweep's strengths)."}),
            "filename_prefix": ("STRING", {"default": "concept_sliders/toyworld_sweep",
                                           "tooltip": "CSV name inside the output folder."}),
        }}

    def measure(self, samples: dict[str, torch.Tensor], strengths: str, filename_prefix: str) -> dict[str, Any]:
        values = parse_strengths(strengths)
        latents = samples["samples"]
        table = measurement.sweep_table(latents, values, metrics.measure)
        path = numbered_path(folders.output_folder(), filename_prefix, ".csv")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            handle.write(measurement.table_csv(table, values))
        summary = measurement.summarise(table, values)
        return {"ui": {"text": [summary, path]}, "result": (summary,)}


class ToyWorldPairs:
    NODE_ID = "ConceptSlidersToyWorldPairs"
    DISPLAY_NAME = "Toy World Pairs (testing)"
    DESCRIPTION = (
        "Renders before/after pairs of toy-world scenes that differ only in one attribute (small vs large, dim vs "
        "bright, left vs right), as latents for Train Slider From Image Pairs. Every other attribute varies "
        "between pairs, so the slider must learn the attribute, not a scene. For testing and demonstrations."
    )
    CATEGORY = TESTING_CATEGORY
    FUNCTION = "pairs"
    RETURN_TYPES = ("LATENT", "LATENT")
    RETURN_NAMES = ("before", "after")
    OUTPUT_TOOLTIPS = (
        "The scenes with the attribute low (small / dim / on the left), one per pair.",
        "The same scenes with the attribute high (large / bright / on the right), in the same order.",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {
            "attribute": (list(pairs.ATTRIBUTES), {"default": "size", "tooltip": "The one attribute that differs inside "
                                                                           "each pair."}),
            "count": ("INT", {"default": 6, "min": 1, "max": 256, "tooltip": "Number of pairs."}),
            "seed": ("INT", {"default": 0, "min": 0, "max": SEED_MAX,
                             "tooltip": "Seeds the scenes: same seed, same pairs."}),
        }}

    def pairs(self, attribute: str, count: int, seed: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        check_numbers(ToyWorldPairs, count=count, seed=seed)
        before, after = pairs.pair_scenes(attribute, count, seed)
        return {"samples": scenes.render(before)}, {"samples": scenes.render(after)}
