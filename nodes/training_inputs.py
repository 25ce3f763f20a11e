"""Inputs and finishing steps the two training nodes share, so the same setting reads and behaves the same.

Defaults come from the core's config dataclasses: a setting has one default wherever it is given.
"""
from __future__ import annotations

from typing import Any

import torch

from ..slider_core.charts.loss_curve import loss_curve
from ..slider_core.model.module_selection import (
    DEFAULT_INCLUDE_CONV,
    DEFAULT_INCLUDE_MLP,
    DEFAULT_TRAIN_METHOD,
    TRAIN_METHODS,
)
from ..slider_core.model.slider import Slider
from ..slider_core.precision import COMPUTE_PRECISIONS
from ..slider_core.training.configs import RunConfig
from .host import patching
from .types import SEED_MAX, SLIDER_TYPE

Inputs = dict[str, tuple[Any, dict[str, Any]]]

RETURN_TYPES = (SLIDER_TYPE, "IMAGE", "MODEL")
RETURN_NAMES = ("slider", "loss_curve", "model")
LOSS_CURVE_TIP = "Training loss per step with a moving average."
PREVIEW_MODEL_TIP = "The input model with the slider applied at +1, for an immediate preview."
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


def finish(model: Any, slider: Slider, losses: list[float]) -> tuple[Slider, torch.Tensor, Any]:
    """The three outputs of a training node: the slider, its loss curve, and the model with it at +1."""
    fitted, keys = patching.match_slider_to_model(slider, model)
    preview = patching.with_slider_patches(model, fitted, 1.0, keys)
    curve = loss_curve(losses, f"{slider.metadata.title}: loss")
    return slider, curve, preview
