"""Train Slider From Image Pairs: the paper's image-pair slider, on the MODEL (and VAE) already in the graph.

A pair is two images that differ only in the attribute the slider should learn (same scene, small vs large eyes).
Images go through the graph's VAE; already-encoded LATENTs can be given instead (e.g. from VAE Encode or the toy
world). Pairs are matched by batch index. Design and maths: slider_core/train_pairs.py.
"""
from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import torch

from ..slider_core.errors import SliderConfigError
from ..slider_core.slider import Slider, SliderMetadata
from ..slider_core.train_pairs import (
    PairConfig,
    check_pairs,
    fit_images,
    pair_frame,
    parse_scales,
    scales_text,
    train_pair_slider,
)
from . import host, train_common
from .host_denoiser import ComfyDenoiser, clip_encoder
from .slider_nodes import SLIDER_TYPE

DEFAULT_LEARNING_RATE = PairConfig.learning_rate
DEFAULT_STEPS = PairConfig.steps


class TrainSliderFromImagePairs:
    DESCRIPTION = (
        "Trains a concept slider from before/after image pairs that differ only in one attribute: with the slider "
        "at −s the model learns to denoise the 'before' image, at +s the 'after' image, both from the same noise, "
        "so the slider captures exactly what changes between them (4-8 pairs are typical). Give images with a VAE, "
        "or latents. Reports progress, can be cancelled, and leaves the model's weights untouched."
    )
    CATEGORY = "concept_sliders/train"
    FUNCTION = "train"
    RETURN_TYPES = (SLIDER_TYPE, "IMAGE", "MODEL")
    RETURN_NAMES = ("slider", "loss_curve", "model")
    OUTPUT_TOOLTIPS = (
        "The trained slider (save it with Save Concept Slider, apply it with Slider Strength): positive strengths "
        "move towards the 'after' images, negative towards the 'before' images.",
        "Training loss per step with a moving average.",
        "The input model with the slider applied at +1, for an immediate preview.",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "model": ("MODEL", {"tooltip": "The base model the slider is trained for (SD1.x, SD2.x or SDXL)."}),
                "clip": ("CLIP", {"tooltip": "The model's text encoder, for the two prompts (an empty prompt is "
                                             "still an encoding, so it is always needed)."}),
                "before_prompt": ("STRING", {"default": "", "multiline": False,
                                             "tooltip": "Prompt the 'before' images are denoised with (c_A); empty = "
                                                        "unconditional, the usual choice."}),
                "after_prompt": ("STRING", {"default": "", "multiline": False,
                                            "tooltip": "Prompt the 'after' images are denoised with (c_B); empty = "
                                                       "unconditional."}),
                "scales": ("STRING", {"default": "1",
                                      "tooltip": "Slider strength(s) the pairs are trained at: 'before' at −s, 'after' "
                                                 "at +s, s drawn per step from this list (positive numbers, e.g. "
                                                 "'1' or '1, 2'). Several values spread the change over a range of "
                                                 "strengths and apply to every pair."}),
                **train_common.adaptor_inputs(),
                "steps": ("INT", {"default": DEFAULT_STEPS, "min": 1, "max": 100000, "tooltip": "Optimisation steps."}),
                "learning_rate": ("FLOAT", {"default": DEFAULT_LEARNING_RATE, "min": 1e-7, "max": 1.0, "step": 1e-6,
                                            "tooltip": "AdamW learning rate. The reference's 2e-4 tends to copy the "
                                                       "pairs' content into the slider; the default is 10x lower."}),
                "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF,
                                 "tooltip": "Seeds pair order, noise, noise levels and initialisation: same seed, "
                                            "same slider (CPU)."}),
                "resolution": ("INT", {"default": 0, "min": 0, "max": 4096, "step": 64,
                                       "tooltip": "Longest side, in pixels, images are trained at; 0 = the model's own "
                                                  "(512 SD1.x, 1024 SDXL). Images are centre-cropped to the closest "
                                                  "multiple-of-64 shape, never squashed. Ignored for latents."}),
                "batch_size": ("INT", {"default": 1, "min": 1, "max": 64,
                                       "tooltip": "Pairs per step; their 'before' and 'after' sides run as two "
                                                  "passes of this batch size."}),
                **train_common.compute_inputs(),
            },
            "optional": {
                "vae": ("VAE", {"tooltip": "Encodes the images; not needed when latents are given."}),
                "before": ("IMAGE", {"tooltip": "The 'before' images (slider at negative strength), one per pair."}),
                "after": ("IMAGE", {"tooltip": "The 'after' images (slider at positive strength), paired with "
                                              "'before' by batch index; same size as 'before'."}),
                "before_latent": ("LATENT", {"tooltip": "Instead of 'before' images: already encoded latents."}),
                "after_latent": ("LATENT", {"tooltip": "Instead of 'after' images: already encoded latents, paired "
                                                      "with 'before_latent' by batch index."}),
            },
        }

    def train(self, model: Any, clip: Any, before_prompt: str, after_prompt: str, scales: str, rank: int,
              alpha: float, train_method: str, include_conv: bool, steps: int, learning_rate: float, seed: int,
              resolution: int, batch_size: int, precision: str, gradient_checkpointing: bool, vae: Any = None,
              before: torch.Tensor | None = None, after: torch.Tensor | None = None,
              before_latent: dict[str, torch.Tensor] | None = None,
              after_latent: dict[str, torch.Tensor] | None = None) -> tuple[Slider, torch.Tensor, Any]:
        config = PairConfig(steps=steps, learning_rate=learning_rate, rank=rank, alpha=alpha,
                            scales=parse_scales(scales), batch_size=batch_size, seed=seed % 2**63,
                            gradient_checkpointing=gradient_checkpointing)
        raw_before, raw_after = pair_latents(model, vae, before, after, before_latent, after_latent, resolution)
        paths = host.slider_target_paths(model, train_method, include_conv)
        stems = host.kohya_stems(model, paths)
        count = raw_before.shape[0]
        if count == 1:
            logging.warning("concept sliders: training on a single image pair; 4-8 pairs generalise far better")
        height, width = raw_before.shape[-2:]
        # training_mode's out-of-memory advice reads these: a forward holds one side of `batch_size` pairs
        memory = SimpleNamespace(batch_size=batch_size, latent_size=(height, width), rank=rank)
        progress = host.TrainingProgress(steps, "image-pair slider")
        with host.training_mode(model, precision, memory):
            latents_before = host.latents_to_model_space(model, raw_before.clone())
            latents_after = host.latents_to_model_space(model, raw_after.clone())
            denoiser = ComfyDenoiser(model, clip_encoder(clip), [before_prompt, after_prompt], (8 * height, 8 * width))
            result = train_pair_slider(denoiser, latents_before, latents_after, config, paths, stems,
                                       on_step=progress.step, checkpoint_units=host.checkpoint_units(model))
            title = (train_common.slider_title(after_prompt, before_prompt) if before_prompt.strip() or after_prompt.strip()
                     else "image_pair_slider")
            metadata = SliderMetadata(
                architecture=host.model_architecture(model), title=title, train_method=train_method,
                positive=after_prompt, negative=before_prompt, recommended_start=0.2,
                extra={"source": "image_pairs", "pairs": str(count), "scales": scales_text(config.scales),
                       "steps": str(steps), "learning_rate": f"{learning_rate:g}",
                       "resolution": f"{8 * width}x{8 * height}"},
            )
            slider = result.slider.export(metadata, name=title)
            del denoiser, result, latents_before, latents_after
        return train_common.finish(model, slider, progress.losses)


def pair_latents(model: Any, vae: Any, before: torch.Tensor | None, after: torch.Tensor | None,
                 before_latent: dict[str, torch.Tensor] | None, after_latent: dict[str, torch.Tensor] | None,
                 resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw LATENT samples of both sides, from latents or from images through the VAE; every way the inputs can
    be inconsistent is an error naming the input. Either source, never both (which one would win is a guess)."""
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
        samples_before, samples_after = before_latent["samples"], after_latent["samples"]
    else:
        _both_sides(before, after, "before", "after", "images")
        samples_before, samples_after = _encode_images(model, vae, before, after, resolution)
    check_pairs(samples_before, samples_after, host.latent_channels(model))
    return samples_before, samples_after


def _both_sides(first: Any, second: Any, first_name: str, second_name: str, kind: str) -> None:
    """A pair needs a 'before' and an 'after': one side alone is the "single image" case, refused."""
    for value, name, other in ((first, first_name, second_name), (second, second_name, first_name)):
        if value is None:
            raise SliderConfigError(
                f"'{name}' is not connected but '{other}' is: a slider learns the difference between the two sides "
                f"of each pair, so connect both {kind}"
            )


def _encode_images(model: Any, vae: Any, before: torch.Tensor, after: torch.Tensor,
                   resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
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
    if vae is None:
        raise SliderConfigError("'vae' is not connected: images must be encoded by the model's VAE (or give latents)")
    frame = pair_frame(before.shape[1], before.shape[2], host.training_resolution(model, resolution))
    both = fit_images(torch.cat([before, after]), frame)
    latents = host.encode_pixels(vae, both)
    return latents[: before.shape[0]], latents[before.shape[0]:]


NODE_CLASS_MAPPINGS = {"ConceptSlidersTrainFromImagePairs": TrainSliderFromImagePairs}
NODE_DISPLAY_NAME_MAPPINGS = {"ConceptSlidersTrainFromImagePairs": "Train Slider From Image Pairs"}
