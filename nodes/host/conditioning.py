"""Prompts as the host's own conditioning: text through the graph's CLIP as CLIPTextEncode does it, or the
CONDITIONING a family's encoder nodes made, turned into model inputs by the family's own `extra_conds` (pooled
vectors, FLUX guidance, attention masks, SDXL size embeddings), so a new family needs no conditioning code here."""
from __future__ import annotations

from typing import Any

import comfy.samplers
import torch

from ...slider_core.errors import SliderConfigError
from . import shims

Conditioning = list[list[Any]]
"""ComfyUI's CONDITIONING: a list of [cross-attention tensor, {extras}] entries."""
ModelConds = dict[str, Any]
"""One prompt's model inputs: apply_model keyword → the host's COND object, processed for a batch of one."""


def text_conditioning(clip: Any, text: str) -> Conditioning:
    """What CLIPTextEncode returns for `text`."""
    return shims.encode_text(clip, text)


def zeroed(conditioning: Conditioning) -> Conditioning:
    """What ConditioningZeroOut makes of it: the unconditional input of families whose graphs use no negative
    prompt (FLUX)."""
    out = []
    for tensor, extras in conditioning:
        extras = dict(extras)
        if extras.get("pooled_output") is not None:
            extras["pooled_output"] = torch.zeros_like(extras["pooled_output"])
        out.append([torch.zeros_like(tensor), extras])
    return out


def single_entries(conditioning: Conditioning, name: str) -> list[Conditioning]:
    """A CONDITIONING's entries, each as a conditioning of its own (Conditioning Combine stacks several)."""
    if not isinstance(conditioning, list) or not conditioning:
        raise SliderConfigError(f"'{name}' is an empty CONDITIONING: connect the output of a text encoder node")
    return [[entry] for entry in conditioning]


def model_conds(patcher: Any, conditioning: Conditioning, noise: torch.Tensor) -> ModelConds:
    """The family's model inputs for one single-entry conditioning at the latent shape of `noise` (batch 1)."""
    converted = shims.convert_cond(conditioning)
    encoded = comfy.samplers.encode_model_conds(patcher.model.extra_conds, converted, noise, noise.device, "positive")
    device = patcher.load_device
    return {key: value.process_cond(batch_size=1, device=device, area=None)
            for key, value in encoded[0]["model_conds"].items()}


def batchable(first: ModelConds, other: ModelConds) -> bool:
    """Whether two prompts' inputs concatenate into one batch (the host's own rule: equal shapes, cross-attention
    lengths padded by repetition, equal constants such as token counts)."""
    return first.keys() == other.keys() and all(first[key].can_concat(other[key]) for key in first)


def batched(conds: list[ModelConds], device: torch.device) -> dict[str, Any]:
    """apply_model's keyword arguments for a batch whose sample i has inputs conds[i] (the host's cond_cat)."""
    inputs = comfy.samplers.cond_cat(conds)
    return {key: value.to(device) if isinstance(value, torch.Tensor) else value for key, value in inputs.items()}
