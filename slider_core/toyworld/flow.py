"""The toy flow world: the blob world's scenes and text encoder with a flow-matching transformer as the denoiser.

Most ComfyUI users run flow-matching DiTs (FLUX, Qwen-Image, Z-Image), so the sliders' semantic claims are also
measured on one: a tiny transformer in FLUX.1-schnell's layout (double- and single-stream blocks, fused qkv,
rectified-flow velocity prediction, no distilled guidance, so ordinary CFG applies), built by the host as
``supported_models.FluxSchnell(DIT_CONFIG)``. It reads the blob world's own two-layer CLIP (its cross-attention
context is the CLIP's hidden states, its pooled vector the CLIP's pooled output), so the same prompts, the same
scenes and the same measurements hold, and only the denoiser differs. Nothing here imports ComfyUI.

Latents: the blob world's raw samples (slider_core/toyworld/blobs/scenes.py), 4 channels at 16x16, scaled into
model space so that a full channel is FULL_CHANNEL (flow matching mixes data and unit noise linearly; the UNet
world's 5.0 would leave most of the noise range trivially easy).

Weight file: the transformer's state dict under "model.diffusion_model." in float16, DIT_CONFIG as JSON metadata.
"""
from __future__ import annotations

from typing import Any

import torch

from . import model
from .blobs import scenes

WEIGHTS_FILE = model.WEIGHTS_DIR / "toyflow.safetensors"
DIT_PREFIX = "model.diffusion_model."
FULL_CHANNEL = 2.0
LATENT_SCALE = scenes.LATENT_SCALE * FULL_CHANNEL / scenes.MODEL_SCALE  # raw samples * LATENT_SCALE = model space

# FLUX.1's layout shrunk: 4 latent channels in 2x2 patches (64 image tokens at 16x16), width 64 in 2 heads of 32
# (rotary axes 8 + 12 + 12), two double-stream and two single-stream blocks; text 64 wide, as the toy CLIP.
DIT_CONFIG: dict[str, Any] = {
    "image_model": "flux",
    "guidance_embed": False,
    "in_channels": 4,
    "out_channels": 4,
    "patch_size": 2,
    "hidden_size": 64,
    "mlp_ratio": 4.0,
    "num_heads": 2,
    "depth": 2,
    "depth_single_blocks": 2,
    "axes_dim": [8, 12, 12],
    "theta": 10000,
    "qkv_bias": True,
    "context_in_dim": model.TEXT_CONFIG["hidden_size"],
    "vec_in_dim": model.TEXT_CONFIG["projection_dim"],
    "txt_ids_dims": [],
    "yak_mlp": False,
    "txt_norm": False,
}


def pack_state_dict(transformer: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The weight file's tensors (float16) from the transformer's state dict."""
    return {DIT_PREFIX + key: value.detach().to(torch.float16).contiguous() for key, value in transformer.items()}


def unpack_state_dict(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The transformer's state dict from the weight file's tensors."""
    return {key[len(DIT_PREFIX):]: value for key, value in tensors.items() if key.startswith(DIT_PREFIX)}
