"""Inputs and finishing steps the two training nodes share, so the same setting reads and behaves the same.

Defaults come from the core's config dataclasses: a setting has one default wherever it is given.
"""
from __future__ import annotations

from typing import Any

import torch

from ..slider_core.charts.loss_curve import loss_curve
from ..slider_core.charts.preview_strip import previews_off
from ..slider_core.errors import SliderConfigError
from ..slider_core.model.module_selection import (
    DEFAULT_INCLUDE_CONV,
    DEFAULT_INCLUDE_MLP,
    DEFAULT_TRAIN_METHOD,
    TRAIN_METHODS,
)
from ..slider_core.model.slider import Slider
from ..slider_core.precision import COMPUTE_PRECISIONS
from ..slider_core.training.configs import RunConfig
from ..slider_core.training.previews import MAX_STEPS, PreviewConfig, Previews
from .host import patching, previews
from .host.training import TrainingProgress
from .types import SEED_MAX, SLIDER_TYPE

Inputs = dict[str, tuple[Any, dict[str, Any]]]

# The preview strip is the last output: outputs are linked by index, so appending keeps saved workflows' links.
RETURN_TYPES = (SLIDER_TYPE, "IMAGE", "MODEL", "IMAGE")
RETURN_NAMES = ("slider", "loss_curve", "model", "preview")
LOSS_CURVE_TIP = "Training loss per step with a moving average."
PREVIEW_MODEL_TIP = "The input model with the slider applied at +1, for an immediate preview."
PREVIEW_STRIP_TIP = ("The last live preview: the prompt sampled at -m, 0, +m (preview_strength) with the finished "
                     "slider, titled with the step and loss; a note saying previews are off when preview_every is 0.")
PREVIEW_DEFAULTS = PreviewConfig()
MODEL_INPUT = ("MODEL", {"tooltip": "The base model the slider is trained for: SD1.x, SD2.x, SDXL, FLUX.1, FLUX.2, "
                                    "Chroma, Qwen-Image, Z-Image, Lumina 2 or SD3.x."})


def adaptor_inputs(defaults: RunConfig) -> Inputs:
    """What the slider is made of: rank, alpha and which layers learn."""
    return {
        "rank": ("INT", {"default": defaults.rank, "min": 1, "max": 128, "tooltip": "LoRA rank of the slider."}),
        "alpha": ("FLOAT", {"default": defaults.alpha, "min": 0.01, "max": 128.0, "step": 0.01,
                            "tooltip": "LoRA alpha; the delta is scaled by alpha/rank."}),
        "train_method": (list(TRAIN_METHODS), {"default": DEFAULT_TRAIN_METHOD,
                                                "tooltip": "Which layers learn: noxattn (all but cross-attention, the "
                                                           "reference default), xattn, selfattn, full, xattn-strict."}),
        "include_conv": ("BOOLEAN", {"default": DEFAULT_INCLUDE_CONV,
                                     "tooltip": "Also adapt ResNet and sampler convolutions (the reference's c3lier "
                                                "default)."}),
    }


def run_inputs(defaults: RunConfig, learning_rate_tip: str, seed_tip: str) -> Inputs:
    """How long and how fast it learns, and from which seed."""
    return {
        "steps": ("INT", {"default": defaults.steps, "min": 1, "max": 100000, "tooltip": "Optimisation steps."}),
        "learning_rate": ("FLOAT", {"default": defaults.learning_rate, "min": 1e-7, "max": 1.0, "step": 1e-6,
                                    "tooltip": learning_rate_tip}),
        "seed": ("INT", {"default": defaults.seed, "min": 0, "max": SEED_MAX, "tooltip": seed_tip}),
    }


def compute_inputs(defaults: RunConfig) -> Inputs:
    """How the passes run: precision and gradient checkpointing."""
    return {
        "precision": (list(COMPUTE_PRECISIONS), {"default": "auto",
                                                 "tooltip": "Compute precision of the model passes; the slider's "
                                                            "weights are always kept in fp32."}),
        "gradient_checkpointing": ("BOOLEAN", {"default": defaults.gradient_checkpointing,
                                               "tooltip": "Recompute activations in backward: much less memory, ~30% "
                                                          "slower."}),
    }


def transformer_inputs(defaults: RunConfig) -> Inputs:
    """Options that matter on diffusion transformers (FLUX and the other flow-matching families), optional so
    workflows saved before them keep their widget order."""
    return {
        "include_mlp": ("BOOLEAN", {"default": DEFAULT_INCLUDE_MLP,
                                    "tooltip": "Transformers: also adapt the blocks' MLPs, not only the attention "
                                               "projections (the reference's FLUX sliders adapt attention only)."}),
        "frozen_up": ("BOOLEAN", {"default": defaults.frozen_up,
                                  "tooltip": "The reference's FLUX parametrisation: lora_up a fixed random "
                                             "orthonormal frame, only lora_down trained."}),
    }


def noise_range_inputs(defaults: RunConfig, advice: str) -> Inputs:
    """The part of the noise schedule trained at; optional, so saved workflows keep their widget order. `advice`
    is what the node's measurements say about raising noise_min (benchmarks/README.md), which differs by node."""
    return {
        "noise_min": ("FLOAT", {
            "default": defaults.noise_range[0], "min": 0.0, "max": 1.0, "step": 0.05,
            "tooltip": "The least noisy part of the schedule trained at, as a fraction of its timesteps "
                       f"(0 = clean, 1 = pure noise). {advice}"}),
        "noise_max": ("FLOAT", {
            "default": defaults.noise_range[1], "min": 0.0, "max": 1.0, "step": 0.05,
            "tooltip": "The noisiest part of the schedule trained at (1 = pure noise); above noise_min."}),
    }


def noise_range(node: str, noise_min: float, noise_max: float) -> tuple[float, float]:
    """(noise_min, noise_max), refused with both values named unless the first is below the second."""
    if noise_min >= noise_max:
        raise SliderConfigError(f"{node}: noise_min {noise_min:g} is not below noise_max {noise_max:g}; give "
                                f"noise_min < noise_max (e.g. 0.5 and 1)")
    return noise_min, noise_max


def preview_inputs(prompt: str) -> Inputs:
    """Live previews while training; optional, after every other input, so saved workflows keep their widgets."""
    return {
        "preview_every": ("INT", {"default": PREVIEW_DEFAULTS.every, "min": 0, "max": 100000,
                                  "tooltip": f"Every this many steps (and at the last), sample {prompt} at -m, 0 and "
                                             "+m with a fixed seed and show the strip on the node, with the step "
                                             "and loss. 0 = off. Previews never change the trained slider."}),
        "preview_strength": ("FLOAT", {"default": PREVIEW_DEFAULTS.strength, "min": 0.1, "max": 10.0, "step": 0.1,
                                       "tooltip": "m: the strengths previewed are -m, 0 and +m."}),
        "preview_steps": ("INT", {"default": PREVIEW_DEFAULTS.steps, "min": 1, "max": MAX_STEPS,
                                  "tooltip": "Sampling steps per preview: few, so previews stay cheap."}),
    }


def live_previews(model: Any, progress: TrainingProgress, every: int, strength: float,
                  steps: int) -> Previews | None:
    """Previews pictured as the host's sampler previews are and shown with the training progress; None if off."""
    config = PreviewConfig(every=every, strength=strength, steps=steps)
    if not config.every:
        return None
    return Previews(config, previews.latent_decoder(model), progress.show_preview)


def finish(model: Any, slider: Slider, losses: list[float],
           live: Previews | None) -> tuple[Slider, torch.Tensor, Any, torch.Tensor]:
    """The four outputs of a training node: the slider, its loss curve, the model with it at +1, and the last
    preview strip."""
    fitted, keys = patching.match_slider_to_model(slider, model)
    preview = patching.with_slider_patches(model, fitted, 1.0, keys)
    curve = loss_curve(losses, f"{slider.metadata.title}: loss")
    strip = live.last if live is not None and live.last is not None else previews_off()
    return slider, curve, preview, strip
