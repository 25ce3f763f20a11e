"""The toy world's base model built through the host's own classes (SD15 model config, BaseModel, ModelPatcher,
sd.CLIP with the SD1 tokenizer and text encoder), so everything downstream (CLIPTextEncode, KSampler, the slider
nodes) treats it as an ordinary, if tiny, SD1.x checkpoint. Works with the 2024 host and current ComfyUI."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import comfy.model_base
import comfy.model_management
import comfy.model_patcher
import comfy.sd
import comfy.sd1_clip
import comfy.supported_models
import comfy.supported_models_base
import safetensors
import safetensors.torch
import torch

from ...slider_core.toyworld import model as toy


def load_toyworld(weights: Path | str = toy.WEIGHTS_FILE) -> tuple[Any, Any]:
    """(MODEL patcher, CLIP) of a toy world's weight file (the blob world's by default; slider_core/toyworld/
    worlds.py names the others); the UNet configuration comes from the file's metadata."""
    with safetensors.safe_open(str(weights), framework="pt") as handle:
        unet_config = json.loads(handle.metadata()["unet_config"])
    unet_state, text_state = toy.unpack_state_dict(safetensors.torch.load_file(str(weights)))

    config = comfy.supported_models.SD15(unet_config)
    config.set_inference_dtype(torch.float32, None)  # tiny: full precision on every device
    base = comfy.model_base.BaseModel(config, device=comfy.model_management.unet_offload_device())
    base.diffusion_model.load_state_dict(unet_state)
    patcher = comfy.model_patcher.ModelPatcher(
        base, load_device=comfy.model_management.get_torch_device(),
        offload_device=comfy.model_management.unet_offload_device(),
    )

    target = comfy.supported_models_base.ClipTarget(comfy.sd1_clip.SD1Tokenizer, comfy.sd1_clip.SD1ClipModel)
    # SDClipModel itself (rather than current ComfyUI's checkpoint subclass) is the one class both hosts let us
    # hand a config file to; its pooled output is projected, and the projection here is the identity.
    target.params = {"clip_model": comfy.sd1_clip.SDClipModel, "textmodel_json_config": str(toy.TEXT_CONFIG_FILE)}
    with torch.no_grad():  # the 2024 host's text model copies into a trainable parameter while it is built
        clip = comfy.sd.CLIP(target)
    encoder = clip.cond_stage_model
    getattr(encoder, encoder.clip).load_state_dict(text_state)
    return patcher, clip
