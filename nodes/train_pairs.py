"""Train Slider From Image Pairs: the paper's image-pair slider, on the MODEL (and VAE) already in the graph.

A pair is two images that differ only in the attribute the slider should learn (same scene, small vs large eyes).
Images go through the graph's VAE; already-encoded LATENTs can be given instead (e.g. from VAE Encode or the toy
world). Pairs are matched by batch index. The maths: slider_core/training/pair_loop.py.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

from ..slider_core.data.images import fit_images, pair_frame
from ..slider_core.data.pair_inputs import check_pair_images, pair_source
from ..slider_core.data.pair_latents import check_pairs
from ..slider_core.errors import SliderConfigError
from ..slider_core.model.architectures import require_trainable
from ..slider_core.model.module_selection import DEFAULT_INCLUDE_MLP
from ..slider_core.model.slider import Slider
from ..slider_core.strengths import format_strengths, parse_strengths
from ..slider_core.training.configs import PairSliderConfig
from ..slider_core.training.metadata import pair_slider_metadata, slider_title
from ..slider_core.training.pair_loop import train_pair_slider
from . import training_inputs
from .host import conditioning, models, training
from .host.conditioning import Conditioning
from .host.denoiser import ComfyDenoiser
from .input_checks import check_numbers
from .prompt_inputs import single_prompt
from .types import TRAIN_CATEGORY

DEFAULTS = PairSliderConfig()


class TrainSliderFromImagePairs:
    NODE_ID = "ConceptSlidersTrainFromImagePairs"
    DISPLAY_NAME = "Train Slider From Image Pairs"
    DESCRIPTION = (
        "Trains a concept slider from before/after image pairs that differ only in one attribute: with the slider "
        "at −s the model learns to denoise the 'before' image, at +s the 'after' image, both from the same noise, "
        "so the slider captures exactly what changes between them (4-8 pairs are typical). Give images with a VAE, "
        "or latents. Reports progress, can be cancelled, and leaves the model's weights untouched."
    )
    CATEGORY = TRAIN_CATEGORY
    FUNCTION = "train"
    RETURN_TYPES = training_inputs.RETURN_TYPES
    RETURN_NAMES = training_inputs.RETURN_NAMES
    OUTPUT_TOOLTIPS = (
        "The trained slider (save it with Save Concept Slider, apply it with Slider Strength): positive strengths "
        "move towards the 'after' images, negative towards the 'before' images.",
        training_inputs.LOSS_CURVE_TIP,
        training_inputs.PREVIEW_MODEL_TIP,
        training_inputs.PREVIEW_STRIP_TIP,
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "model": training_inputs.MODEL_INPUT,
                "before_prompt": ("STRING", {"default": "", "multiline": False,
                                             "tooltip": "Prompt the 'before' images are denoised with (c_A); empty = "
                                                        "unconditional, the usual choice."}),
                "after_prompt": ("STRING", {"default": "", "multiline": False,
                                            "tooltip": "Prompt the 'after' images are denoised with (c_B); empty = "
                                                       "unconditional."}),
                "strengths": ("STRING", {"default": format_strengths(DEFAULTS.strengths),
                                         "tooltip": "Slider strength(s) the pairs are trained at: 'before' at −s, "
                                                    "'after' at +s, s drawn per step from this list (positive "
                                                    "numbers, e.g. '1' or '1, 2'). Several values spread the change "
                                                    "over a range of strengths and apply to every pair."}),
                **training_inputs.adaptor_inputs(DEFAULTS),
                **training_inputs.run_inputs(
                    DEFAULTS, "AdamW learning rate. The reference's 2e-4 tends to copy the pairs' content into the "
                              "slider; the default is 10x lower.",
                    "Seeds pair order, noise, noise levels and initialisation: same seed, same slider (CPU)."),
                "resolution": ("INT", {"default": 0, "min": 0, "max": 4096, "step": 64,
                                       "tooltip": "Longest side, in pixels, images are trained at; 0 = the model's own "
                                                  "(512 SD1.x, 1024 SDXL). Images are centre-cropped to the closest "
                                                  "multiple-of-64 shape, never squashed. Ignored for latents."}),
                "batch_size": ("INT", {"default": DEFAULTS.batch_size, "min": 1, "max": 64,
                                       "tooltip": "Pairs per step; their 'before' and 'after' sides run as two "
                                                  "passes of this batch size."}),
                **training_inputs.compute_inputs(DEFAULTS),
            },
            "optional": {
                "clip": ("CLIP", {"tooltip": "The model's text encoder, for the two prompts (an empty prompt is still "
                                             "an encoding). Not needed when both sides come as CONDITIONING."}),
                "vae": ("VAE", {"tooltip": "Encodes the images; not needed when latents are given."}),
                "before": ("IMAGE", {"tooltip": "The 'before' images (slider at negative strength), one per pair."}),
                "after": ("IMAGE", {"tooltip": "The 'after' images (slider at positive strength), paired with "
                                              "'before' by batch index; same size as 'before'."}),
                "before_latent": ("LATENT", {"tooltip": "Instead of 'before' images: already encoded latents."}),
                "after_latent": ("LATENT", {"tooltip": "Instead of 'after' images: already encoded latents, paired "
                                                      "with 'before_latent' by batch index."}),
                "before_conditioning": ("CONDITIONING", {"tooltip": "Instead of before_prompt: the conditioning the "
                                                                    "'before' images are denoised with."}),
                "after_conditioning": ("CONDITIONING", {"tooltip": "Instead of after_prompt: the conditioning the "
                                                                   "'after' images are denoised with."}),
                **training_inputs.transformer_inputs(DEFAULTS),
                **training_inputs.noise_range_inputs(
                    DEFAULTS, "Keep 0 as a rule: 0.75 makes position pairs move further, but the slider then "
                              "redraws the pairs' own scenes (objects grow or vanish at high strengths)."),
                **training_inputs.preview_inputs("the 'after' prompt (without CFG)"),
            },
        }

    def train(self, model: Any, before_prompt: str, after_prompt: str, strengths: str, rank: int,
              alpha: float, train_method: str, include_conv: bool, steps: int, learning_rate: float, seed: int,
              resolution: int, batch_size: int, precision: str, gradient_checkpointing: bool, clip: Any = None,
              vae: Any = None, before: torch.Tensor | None = None, after: torch.Tensor | None = None,
              before_latent: dict[str, torch.Tensor] | None = None,
              after_latent: dict[str, torch.Tensor] | None = None, before_conditioning: Any = None,
              after_conditioning: Any = None, include_mlp: bool = DEFAULT_INCLUDE_MLP,
              frozen_up: bool = DEFAULTS.frozen_up,
              noise_min: float = DEFAULTS.noise_range[0], noise_max: float = DEFAULTS.noise_range[1],
              preview_every: int = training_inputs.PREVIEW_DEFAULTS.every,
              preview_strength: float = training_inputs.PREVIEW_DEFAULTS.strength,
              preview_steps: int = training_inputs.PREVIEW_DEFAULTS.steps,
              ) -> tuple[Slider, torch.Tensor, Any, torch.Tensor]:
        check_numbers(TrainSliderFromImagePairs, rank=rank, alpha=alpha, steps=steps, learning_rate=learning_rate,
                      seed=seed, resolution=resolution, batch_size=batch_size, preview_every=preview_every,
                      preview_strength=preview_strength, preview_steps=preview_steps, noise_min=noise_min,
                      noise_max=noise_max)
        noise_range = training_inputs.noise_range(TrainSliderFromImagePairs.DISPLAY_NAME, noise_min, noise_max)
        config = PairSliderConfig(steps=steps, learning_rate=learning_rate, rank=rank, alpha=alpha,
                                  strengths=tuple(parse_strengths(strengths, "strengths", "1, 2", positive=True)),
                                  batch_size=batch_size, seed=seed, gradient_checkpointing=gradient_checkpointing,
                                  frozen_up=frozen_up, noise_range=noise_range)
        architecture = require_trainable(models.model_architecture(model), models.model_label(model))
        prompts = [_side(clip, before_prompt, before_conditioning, "before"),
                   _side(clip, after_prompt, after_conditioning, "after")]
        if pair_source(before, after, before_latent, after_latent) == "latents":
            raw_before, raw_after = before_latent["samples"], after_latent["samples"]
        else:
            raw_before, raw_after = _encode_images(model, vae, before, after, resolution)
        check_pairs(raw_before, raw_after, lambda height, width: models.latent_shape(model, height, width),
                    architecture.latent_multiple)
        paths, rows = models.slider_targets(model, train_method, include_conv, include_mlp)
        stems = models.kohya_stems(model, paths)
        count = raw_before.shape[0]
        if count == 1:
            logging.warning("concept sliders: training on a single image pair; 4-8 pairs generalise far better")
        height, width = raw_before.shape[-2:]
        scale = models.latent_downscale(model)
        progress = training.TrainingProgress(steps, "image-pair slider")
        live = training_inputs.live_previews(model, progress, preview_every, preview_strength, preview_steps)
        # a forward holds one side of `batch_size` pairs: what the out-of-memory advice names
        with training.training_mode(model, precision, batch_size, (height, width), rank):
            latents_before = models.latents_to_model_space(model, raw_before.clone())
            latents_after = models.latents_to_model_space(model, raw_after.clone())
            denoiser = ComfyDenoiser(model, [prompt() for prompt in prompts], (height, width))
            result = train_pair_slider(denoiser, latents_before, latents_after, config, paths, stems,
                                       on_step=progress.step, recompute_units=models.recompute_units(model),
                                       rows=rows, previews=live)
            title = (slider_title(after_prompt, before_prompt) if before_prompt.strip() or after_prompt.strip()
                     else "image_pair_slider")
            metadata = pair_slider_metadata(models.architecture_id(model), title, train_method, before_prompt,
                                            after_prompt, config, config.strengths, f"{scale * width}x{scale * height}",
                                            {"source": "image_pairs", "pairs": str(count)})
            slider = result.slider.export(metadata, name=title)
            del denoiser, result, latents_before, latents_after
        return training_inputs.finish(model, slider, progress.losses, live)


def _side(clip: Any, text: str, given: Any, side: str) -> Callable[[], Conditioning]:
    """One side's conditioning, made once training mode is on (text encoders run inside it)."""
    if given is not None:
        return lambda: single_prompt(given, f"{side}_conditioning")
    if clip is None:
        raise SliderConfigError(f"no CLIP is connected: connect the model's CLIP (for {side}_prompt) or give "
                                f"{side}_conditioning")
    return lambda: conditioning.text_conditioning(clip, text)


def _encode_images(model: Any, vae: Any, before: torch.Tensor, after: torch.Tensor,
                   resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw LATENT samples of both sides: checked, cropped to the training frame and encoded by the graph's VAE."""
    check_pair_images(before, after)
    if vae is None:
        raise SliderConfigError("'vae' is not connected: images must be encoded by the model's VAE (or give latents)")
    frame = pair_frame(before.shape[1], before.shape[2], models.training_resolution(model, resolution))
    latents = models.encode_pixels(vae, fit_images(torch.cat([before, after]), frame))
    return latents[: before.shape[0]], latents[before.shape[0]:]
