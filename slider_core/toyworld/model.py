"""The toy world's base model: configuration, seeded initialisation and the shipped weight file's layout.

The model is a tiny Stable Diffusion 1.x: a UNet in ComfyUI's own SD1.x layout (built by the host as
``supported_models.SD15(UNET_CONFIG)``) conditioned by a two-layer CLIP text encoder of the same layout as SD1's
(the host's SDClipModel with TEXT_CONFIG), so samplers, text encoding and slider patching all run unchanged.
Nothing here imports ComfyUI: the host-facing building lives in nodes/host/toyworld.py and scripts/train_toyworld.py.

Weight file: SD1 checkpoint key names ("model.diffusion_model.*", "cond_stage_model.*" with the text encoder's
own keys) in float16, plus the UNet configuration as JSON metadata. The text encoder's token embedding keeps
SD1's 49408-row vocabulary, but only rows of words the world uses are trained, so the file stores those rows
and their ids (TOKEN_ROWS_SUFFIX); every other row is zero, i.e. unknown words carry position information only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_FILE = WEIGHTS_DIR / "toyworld.safetensors"
TEXT_CONFIG_FILE = WEIGHTS_DIR / "toyworld_text_encoder.json"  # the host's SDClipModel reads its config from a file

UNET_PREFIX = "model.diffusion_model."
TEXT_PREFIX = "cond_stage_model."
TOKEN_EMBEDDING_KEY = "transformer.text_model.embeddings.token_embedding.weight"
TOKEN_ROWS_SUFFIX = ".rows"

TEXT_CONFIG: dict[str, Any] = {
    "architectures": ["CLIPTextModel"],
    "model_type": "clip_text_model",
    "hidden_act": "quick_gelu",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "max_position_embeddings": 77,
    "projection_dim": 64,
    "vocab_size": 49408,
    "layer_norm_eps": 1e-05,
    "bos_token_id": 49406,
    "eos_token_id": 49407,
    "pad_token_id": 49407,
}

# SD15() adds num_heads 8 / num_head_channels -1 (so 4- and 8-channel heads here). No attention at the full 16x16
# level (only at 8x8 and below, and the middle) keeps a training step cheap on two CPU cores while still giving
# text a global reach.
UNET_CONFIG: dict[str, Any] = {
    "use_checkpoint": False,
    "image_size": 16,
    "in_channels": 4,
    "out_channels": 4,
    "model_channels": 32,
    "num_res_blocks": [1, 1, 1, 1],
    "channel_mult": [1, 2, 2, 2],
    "transformer_depth": [0, 1, 1, 1],
    "transformer_depth_output": [0, 0, 1, 1, 1, 1, 1, 1],
    "transformer_depth_middle": 1,
    "use_linear_in_transformer": True,
    "context_dim": TEXT_CONFIG["hidden_size"],
    "use_spatial_transformer": True,
    "legacy": False,
    "adm_in_channels": None,
    "use_temporal_attention": False,
    "use_temporal_resblock": False,
}

_INIT_CLASSES = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.GroupNorm, torch.nn.LayerNorm, torch.nn.Embedding)


def seeded_init(module: torch.nn.Module, seed: int) -> None:
    """Torch's default init for every layer, drawn from one seed (ComfyUI's layer classes skip weight init)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in module.modules():
            for torch_class in _INIT_CLASSES:
                if isinstance(layer, torch_class):
                    torch_class.reset_parameters(layer)  # the host's subclasses override it with a no-op


def clone_layer_norm_inputs(module: torch.nn.Module) -> list[RemovableHandle]:
    """Make the host's transformer blocks trainable: give every LayerNorm a private copy of its input.

    ComfyUI's CLIP layers (both generations) and the 2024 UNet blocks add residuals in place (``x += ...``)
    after a LayerNorm has saved ``x`` for its backward pass, which autograd rejects. Remove the handles after
    training.
    """
    return [
        layer.register_forward_pre_hook(lambda _, args: (args[0].clone(), *args[1:]))
        for layer in module.modules()
        if isinstance(layer, torch.nn.LayerNorm)
    ]


def pack_state_dict(unet: dict[str, torch.Tensor], text: dict[str, torch.Tensor],
                    token_ids: list[int]) -> dict[str, torch.Tensor]:
    """The weight file's tensors (float16) from the UNet's and text encoder's state dicts and the used token ids."""
    ids = torch.tensor(sorted(set(token_ids)), dtype=torch.int64)
    text = dict(text)
    embedding = text.pop(TOKEN_EMBEDDING_KEY)
    tensors = {UNET_PREFIX + key: value for key, value in unet.items()}
    tensors |= {TEXT_PREFIX + key: value for key, value in text.items()}
    tensors[TEXT_PREFIX + TOKEN_EMBEDDING_KEY] = embedding[ids]
    tensors = {key: value.detach().to(torch.float16).contiguous() for key, value in tensors.items()}
    tensors[TEXT_PREFIX + TOKEN_EMBEDDING_KEY + TOKEN_ROWS_SUFFIX] = ids
    return tensors


def unpack_state_dict(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(UNet state dict, text encoder state dict) from the weight file's tensors, the full vocabulary restored."""
    unet = {key[len(UNET_PREFIX):]: value for key, value in tensors.items() if key.startswith(UNET_PREFIX)}
    text = {key[len(TEXT_PREFIX):]: value for key, value in tensors.items() if key.startswith(TEXT_PREFIX)}
    ids = text.pop(TOKEN_EMBEDDING_KEY + TOKEN_ROWS_SUFFIX)
    rows = text[TOKEN_EMBEDDING_KEY]
    embedding = torch.zeros(TEXT_CONFIG["vocab_size"], rows.shape[1], dtype=rows.dtype)
    embedding[ids] = rows
    text[TOKEN_EMBEDDING_KEY] = embedding
    return unet, text
