"""Train Slider From Prompts: the paper's ε-guided text slider, on the MODEL and CLIP already in the graph."""
from __future__ import annotations

from typing import Any

import torch

from ..slider_core.model.architectures import require_trainable
from ..slider_core.model.module_selection import DEFAULT_INCLUDE_MLP
from ..slider_core.model.slider import Slider
from ..slider_core.training.configs import TextSliderConfig
from ..slider_core.training.latent_sources import TRAJECTORIES
from ..slider_core.training.metadata import slider_title, text_slider_metadata
from ..slider_core.training.objectives import GOAL_NORMALISATIONS
from ..slider_core.training.prompts import SliderPrompts
from ..slider_core.training.text_loop import train_text_slider
from . import training_inputs
from .host import models, training
from .host.denoiser import ComfyDenoiser
from .input_checks import check_numbers
from .prompt_inputs import slider_conditionings
from .types import TRAIN_CATEGORY

DEFAULTS = TextSliderConfig()


def _text(default: str, tip: str, multiline: bool = False) -> tuple[str, dict[str, Any]]:
    # dynamicPrompts off: the 2024 web page otherwise rewrites "{...}" when queueing, and "{}" marks where the
    # prompt goes in a preservation concept ("{} on the left").
    return ("STRING", {"default": default, "multiline": multiline, "dynamicPrompts": False, "tooltip": tip})


class TrainSliderFromPrompts:
    NODE_ID = "ConceptSlidersTrainFromPrompts"
    DISPLAY_NAME = "Train Slider From Prompts"
    DESCRIPTION = (
        "Trains a concept slider from text: the slider learns to push the model's prediction for the target "
        "towards 'positive' (strength > 0) and 'negative' (strength < 0), guided by η·(ε(positive) − ε(negative)), "
        "while preservation concepts keep other attributes out of the direction. Runs on the loaded MODEL and "
        "CLIP, reports progress, can be cancelled, and leaves the model's weights untouched."
    )
    CATEGORY = TRAIN_CATEGORY
    FUNCTION = "train"
    RETURN_TYPES = training_inputs.RETURN_TYPES
    RETURN_NAMES = training_inputs.RETURN_NAMES
    OUTPUT_TOOLTIPS = (
        "The trained slider (save it with Save Concept Slider, apply it with Slider Strength).",
        training_inputs.LOSS_CURVE_TIP,
        training_inputs.PREVIEW_MODEL_TIP,
        training_inputs.PREVIEW_STRIP_TIP,
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "model": training_inputs.MODEL_INPUT,
                "target": _text("a person", "What the slider acts on (c_t), e.g. 'a person'."),
                "positive": _text("an old person", "The attribute at positive strength (c+)."),
                "negative": _text("a young person", "The attribute at negative strength (c-)."),
                "preserve": _text("", "Preservation concepts, one per line (e.g. 'male', 'female'): the slider's "
                                      "direction is averaged over them so it does not change them.", multiline=True),
                "guidance": ("FLOAT", {"default": DEFAULTS.eta, "min": 0.0, "max": 50.0, "step": 0.1,
                                       "tooltip": "η: how far the target is pushed along positive − negative."}),
                **training_inputs.adaptor_inputs(DEFAULTS),
                **training_inputs.run_inputs(
                    DEFAULTS, "AdamW learning rate.",
                    "Seeds noise, timesteps and initialisation: same seed, same slider (CPU)."),
                "resolution": ("INT", {"default": 0, "min": 0, "max": 4096, "step": 64,
                                       "tooltip": "Training resolution in pixels; 0 = the model's own (512 SD1.x, "
                                                  "1024 SDXL)."}),
                "batch_size": ("INT", {"default": DEFAULTS.batch_size, "min": 1, "max": 64,
                                       "tooltip": "Latents per step."}),
                "bidirectional": ("BOOLEAN", {"default": DEFAULTS.bidirectional,
                                              "tooltip": "Train the −1 side too (target − η·direction), on "
                                                         "alternate steps; makes negative strengths reliable."}),
                **training_inputs.compute_inputs(DEFAULTS),
                "trajectory": (list(TRAJECTORIES), {"default": DEFAULTS.trajectory,
                                                    "tooltip": "Where noisy latents come from: renoise (fastest, "
                                                               "default), pool, or rollout (the reference's)."}),
            },
            "optional": {
                "clip": ("CLIP", {"tooltip": "The model's text encoder, for the text prompts. Not needed when all of "
                                             "target, positive and negative come as CONDITIONING."}),
                "anchor": _text("", "Optional: the prompt whose prediction the target is built on (the reference's "
                                    "'neutral'); empty = the target itself."),
                "target_conditioning": ("CONDITIONING", {"tooltip": "Instead of the target text: the target as the "
                                                                    "family's encoder node made it."}),
                "positive_conditioning": ("CONDITIONING", {
                    "tooltip": "Instead of the positive text and preservation lines: one entry per preservation "
                               "concept (Conditioning Combine), e.g. 'an old man', 'an old woman'."}),
                "negative_conditioning": ("CONDITIONING", {
                    "tooltip": "Pairs with positive_conditioning entry by entry, e.g. 'a young man', 'a young woman'."}),
                "unconditional_conditioning": ("CONDITIONING", {
                    "tooltip": "The empty prompt latents are generated against; default: '' through the CLIP, or "
                               "the target zeroed (ConditioningZeroOut) without one."}),
                **training_inputs.transformer_inputs(DEFAULTS),
                "goal_normalisation": (list(GOAL_NORMALISATIONS), {
                    "default": DEFAULTS.goal_normalisation,
                    "tooltip": "Rescale the guided target: none (the paper), positive_norm (to the positive "
                               "prediction's norm, the reference's FLUX sliders), anchor_stats (to the anchor "
                               "prediction's mean and std, ai-toolkit)."}),
                **training_inputs.noise_range_inputs(
                    DEFAULTS, "0.75 for position and layout sliders, which form at high noise; keep 0 for detail "
                              "and texture, which form late."),
                **training_inputs.preview_inputs("the target"),
            },
        }

    def train(self, model: Any, target: str, positive: str, negative: str, preserve: str, guidance: float,
              rank: int, alpha: float, train_method: str, include_conv: bool, steps: int, learning_rate: float,
              seed: int, resolution: int, batch_size: int, bidirectional: bool, precision: str,
              gradient_checkpointing: bool, trajectory: str, clip: Any = None, anchor: str = "",
              target_conditioning: Any = None, positive_conditioning: Any = None, negative_conditioning: Any = None,
              unconditional_conditioning: Any = None, include_mlp: bool = DEFAULT_INCLUDE_MLP,
              goal_normalisation: str = DEFAULTS.goal_normalisation,
              frozen_up: bool = DEFAULTS.frozen_up,
              noise_min: float = DEFAULTS.noise_range[0], noise_max: float = DEFAULTS.noise_range[1],
              preview_every: int = training_inputs.PREVIEW_DEFAULTS.every,
              preview_strength: float = training_inputs.PREVIEW_DEFAULTS.strength,
              preview_steps: int = training_inputs.PREVIEW_DEFAULTS.steps,
              ) -> tuple[Slider, torch.Tensor, Any, torch.Tensor]:
        check_numbers(TrainSliderFromPrompts, guidance=guidance, rank=rank, alpha=alpha, steps=steps,
                      learning_rate=learning_rate, seed=seed, resolution=resolution, batch_size=batch_size,
                      preview_every=preview_every, preview_strength=preview_strength, preview_steps=preview_steps,
                      noise_min=noise_min, noise_max=noise_max)
        noise_range = training_inputs.noise_range(TrainSliderFromPrompts.DISPLAY_NAME, noise_min, noise_max)
        prompts = SliderPrompts(target=target, positive=positive, negative=negative,
                                preserve=preserve.splitlines(), anchor=anchor.strip() or None)
        pixels = models.training_resolution(model, resolution)
        latent = pixels // models.latent_downscale(model)
        architecture = require_trainable(models.model_architecture(model), models.model_label(model))
        config = TextSliderConfig(
            steps=steps, learning_rate=learning_rate, rank=rank, alpha=alpha, eta=guidance, batch_size=batch_size,
            seed=seed, latent_size=(latent, latent), bidirectional=bidirectional, trajectory=trajectory,
            gradient_checkpointing=gradient_checkpointing, goal_normalisation=goal_normalisation,
            frozen_up=frozen_up, noise_range=noise_range,
            trajectory_cfg=1.0 if architecture.distilled_guidance else DEFAULTS.trajectory_cfg)
        paths, rows = models.slider_targets(model, train_method, include_conv, include_mlp)
        stems = models.kohya_stems(model, paths)
        progress = training.TrainingProgress(steps, "slider")
        live = training_inputs.live_previews(model, progress, preview_every, preview_strength, preview_steps)
        with training.training_mode(model, precision, config.batch_size, config.latent_size, config.rank):
            inputs = slider_conditionings(clip, prompts, target_conditioning, positive_conditioning,
                                          negative_conditioning, unconditional_conditioning)
            denoiser = ComfyDenoiser(model, inputs.conditionings, config.latent_size)
            result = train_text_slider(denoiser, inputs.layout, config, paths, stems, on_step=progress.step,
                                       recompute_units=models.recompute_units(model), rows=rows, previews=live)
            described = inputs.described
            metadata = text_slider_metadata(models.architecture_id(model),
                                            slider_title(described.positive, described.negative),
                                            train_method, described, config, str(pixels))
            slider = result.slider.export(metadata, name=metadata.title)
            del denoiser, result
        return training_inputs.finish(model, slider, progress.losses, live)
