"""Inputs and finishing steps the two training nodes share, so the same setting reads and behaves the same."""
from __future__ import annotations

import re
from typing import Any

import torch

from ..slider_core.slider import Slider
from ..slider_core.targets import TRAIN_METHODS
from . import host, plots

PRECISIONS = ("auto", "bf16", "fp16")


def adaptor_inputs() -> dict[str, tuple[Any, dict[str, Any]]]:
    """What the slider is made of: rank, alpha and which layers learn."""
    return {
        "rank": ("INT", {"default": 4, "min": 1, "max": 128, "tooltip": "LoRA rank of the slider."}),
        "alpha": ("FLOAT", {"default": 1.0, "min": 0.01, "max": 128.0, "step": 0.01,
                            "tooltip": "LoRA alpha; the delta is scaled by alpha/rank."}),
        "train_method": (list(TRAIN_METHODS), {"default": "noxattn",
                                                "tooltip": "Which layers learn: noxattn (all but cross-attention, the "
                                                           "reference default), xattn, selfattn, full, xattn-strict."}),
        "include_conv": ("BOOLEAN", {"default": True,
                                     "tooltip": "Also adapt ResNet and sampler convolutions (the reference's c3lier "
                                                "default)."}),
    }


def compute_inputs() -> dict[str, tuple[Any, dict[str, Any]]]:
    """How the passes run: precision and gradient checkpointing."""
    return {
        "precision": (list(PRECISIONS), {"default": "auto",
                                         "tooltip": "Compute precision of the model passes; the slider's weights are "
                                                    "always kept in fp32."}),
        "gradient_checkpointing": ("BOOLEAN", {"default": False,
                                               "tooltip": "Recompute activations in backward: much less memory, ~30% "
                                                          "slower."}),
    }


def finish(model: Any, slider: Slider, losses: list[float]) -> tuple[Slider, torch.Tensor, Any]:
    """The three outputs of a training node: the slider, its loss curve, and the model with it at +1."""
    keys = host.match_slider_to_model(slider, model)
    preview = host.with_slider_patches(model, slider, 1.0, keys)
    curve = plots.loss_curve(losses, f"{slider.metadata.title}: loss")
    return slider, curve, preview


def slider_title(positive: str, negative: str) -> str:
    """A file-name-safe 'negative_to_positive' title, e.g. 'a_young_person_to_an_old_person'."""
    def words(text: str) -> str:
        return re.sub(r"[^\w]+", "_", text.strip().lower()).strip("_")[:40] or "none"

    return f"{words(negative)}_to_{words(positive)}"
