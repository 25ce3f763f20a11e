"""The toy worlds' base models built through the host's own classes, so everything downstream (CLIPTextEncode,
KSampler, the slider nodes) treats them as ordinary, if tiny, checkpoints: the UNet worlds as SD1.x (SD15 model
config, BaseModel, ModelPatcher, sd.CLIP with the SD1 tokenizer and text encoder; both hosts), the flow world as
FLUX.1 schnell (FluxSchnell model config; hosts that have the FLUX family) reading the blob world's CLIP."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import comfy.latent_formats
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

from ...slider_core.errors import SliderError
from ...slider_core.toyworld import flow
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

    return patcher, _text_encoder(text_state)


def _text_encoder(text_state: dict[str, torch.Tensor]) -> Any:
    """A toy world's CLIP holding `text_state`."""
    target = comfy.supported_models_base.ClipTarget(comfy.sd1_clip.SD1Tokenizer, comfy.sd1_clip.SD1ClipModel)
    # SDClipModel itself (rather than current ComfyUI's checkpoint subclass) is the one class both hosts let us
    # hand a config file to; its pooled output is projected, and the projection here is the identity.
    target.params = {"clip_model": comfy.sd1_clip.SDClipModel, "textmodel_json_config": str(toy.TEXT_CONFIG_FILE)}
    with torch.no_grad():  # the 2024 host's text model copies into a trainable parameter while it is built
        clip = comfy.sd.CLIP(target)
    encoder = clip.cond_stage_model
    getattr(encoder, encoder.clip).load_state_dict(text_state)
    return clip


class FlowLatentFormat(comfy.latent_formats.SD15):
    """The blob world's raw latents scaled so a full channel is flow.FULL_CHANNEL in model space (4 channels, 8x
    spatial, as SD's, so EmptyLatentImage and the host's latent fixing leave them as they are)."""

    def __init__(self) -> None:
        super().__init__(scale_factor=flow.LATENT_SCALE)


def flow_model(dit_config: dict[str, Any], state: dict[str, torch.Tensor] | None = None) -> Any:
    """The flow world's BaseModel (float32, on the offload device): FluxSchnell's own model class and sampling."""
    family = getattr(comfy.supported_models, "FluxSchnell", None)
    if family is None:
        raise SliderError("the toy flow world is a FLUX.1-schnell-layout model, and this ComfyUI has no FLUX "
                          "family: update ComfyUI (0.3 or newer), or use the UNet toy world")
    config = family(dict(dit_config))
    config.latent_format = FlowLatentFormat()
    config.set_inference_dtype(torch.float32, None)
    base = config.get_model({}, "", device=comfy.model_management.unet_offload_device())
    if state is not None:
        base.diffusion_model.load_state_dict(state)
    return base


def load_flow_toyworld(weights: Path | str = flow.WEIGHTS_FILE) -> tuple[Any, Any]:
    """(MODEL patcher, CLIP) of the toy flow world: its transformer, and the blob world's text encoder."""
    with safetensors.safe_open(str(weights), framework="pt") as handle:
        dit_config = json.loads(handle.metadata()["dit_config"])
    base = flow_model(dit_config, flow.unpack_state_dict(safetensors.torch.load_file(str(weights))))
    patcher = comfy.model_patcher.ModelPatcher(
        base, load_device=comfy.model_management.get_torch_device(),
        offload_device=comfy.model_management.unet_offload_device(),
    )
    _, text_state = toy.unpack_state_dict(safetensors.torch.load_file(str(toy.WEIGHTS_FILE)))
    return patcher, _text_encoder(text_state)
