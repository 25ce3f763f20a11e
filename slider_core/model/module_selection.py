"""Which modules a slider adapts: the reference implementation's train methods, on any module tree.

The reference (diffusers names) adapts the Linear/Conv children of `Attention` blocks, and with conv layers on
(its default "c3lier" network) those of `ResnetBlock2D`, `Downsample2D` and `Upsample2D`; the method then filters
by attention kind: attn1 is self-attention, attn2 cross-attention (the text path). The host says which class
names play these roles in its own tree (ComfyUI's ldm UNet: CrossAttention, ResBlock, Downsample, Upsample).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from torch import nn

from ..choices import check_choice
from ..errors import SliderConfigError

TRAIN_METHODS = ("noxattn", "xattn", "selfattn", "full", "xattn-strict")
DEFAULT_TRAIN_METHOD = "noxattn"  # the reference's default: everything but the text (cross-attention) path
DEFAULT_INCLUDE_CONV = True  # the reference's default "c3lier" network adapts convolutions too
DEFAULT_INCLUDE_MLP = False  # transformers: attention projections only, as the reference's FLUX sliders


@dataclass(frozen=True)
class ModuleRoles:
    attention: tuple[str, ...]
    conv_blocks: tuple[str, ...]
    self_attention: str = "attn1"
    cross_attention: str = "attn2"


LDM_ROLES = ModuleRoles(attention=("CrossAttention",), conv_blocks=("ResBlock", "Downsample", "Upsample"))
DIFFUSERS_ROLES = ModuleRoles(attention=("Attention",), conv_blocks=("ResnetBlock2D", "Downsample2D", "Upsample2D"))


def select_modules(root: nn.Module, method: str, include_conv: bool, roles: ModuleRoles) -> list[str]:
    """Paths of the Linear/Conv2d modules the method adapts, in tree order."""
    check_choice("train method", method, TRAIN_METHODS)
    selected: list[str] = []
    for block_path, block in root.named_modules():
        kind = type(block).__name__
        is_attention = kind in roles.attention
        if not is_attention and not (include_conv and kind in roles.conv_blocks):
            continue
        for child_path, child in block.named_modules():
            if not child_path or not isinstance(child, (nn.Linear, nn.Conv2d)):
                continue
            if is_attention and not _attention_kept(block_path, child_path, method, roles):
                continue
            if not is_attention and method in ("xattn", "selfattn", "xattn-strict"):
                continue
            selected.append(f"{block_path}.{child_path}" if block_path else child_path)
    if not selected:
        raise SliderConfigError(f"train method {method!r} selects no module of this model")
    return selected


def _attention_kept(block_path: str, child_path: str, method: str, roles: ModuleRoles) -> bool:
    is_cross = block_path.rsplit(".", 1)[-1] == roles.cross_attention
    is_self = block_path.rsplit(".", 1)[-1] == roles.self_attention
    if method == "noxattn":
        return not is_cross
    if method == "xattn":
        return is_cross
    if method == "selfattn":
        return is_self
    if method == "xattn-strict":
        return is_cross and "out" not in child_path
    return True


@dataclass(frozen=True)
class TransformerLayout:
    """Where a diffusion transformer keeps its attention and MLP projections, as regular expressions over module
    paths relative to the diffusion model, split by the token stream they serve: image tokens, text tokens, or
    both at once (joint blocks). `fused_attention` projections compute q, k, v and the MLP input in one matrix;
    attention-only methods adapt their first 3 × in_features output rows (the q, k, v rows) only."""

    image_attention: tuple[str, ...]
    text_attention: tuple[str, ...] = ()
    joint_attention: tuple[str, ...] = ()
    image_mlp: tuple[str, ...] = ()
    text_mlp: tuple[str, ...] = ()
    joint_mlp: tuple[str, ...] = ()
    fused_attention: tuple[str, ...] = ()


# ComfyUI's own module paths of each family (the original implementations' names, which kohya and Forge use).
LAYOUTS: dict[str, TransformerLayout] = {
    "flux": TransformerLayout(  # FLUX.1, FLUX.2, Chroma: double-stream then single-stream blocks
        image_attention=(r"double_blocks\.\d+\.img_attn\.(qkv|proj)",),
        text_attention=(r"double_blocks\.\d+\.txt_attn\.(qkv|proj)",),
        joint_attention=(r"single_blocks\.\d+\.linear1",),
        image_mlp=(r"double_blocks\.\d+\.img_mlp\.\d+",),
        text_mlp=(r"double_blocks\.\d+\.txt_mlp\.\d+",),
        joint_mlp=(r"single_blocks\.\d+\.linear[12]",),
        fused_attention=(r"single_blocks\.\d+\.linear1",),
    ),
    "qwen_image": TransformerLayout(
        image_attention=(r"transformer_blocks\.\d+\.attn\.(to_q|to_k|to_v|to_out\.0)",),
        text_attention=(r"transformer_blocks\.\d+\.attn\.(add_q_proj|add_k_proj|add_v_proj|to_add_out)",),
        image_mlp=(r"transformer_blocks\.\d+\.img_mlp\.net\.(0\.proj|2)",),
        text_mlp=(r"transformer_blocks\.\d+\.txt_mlp\.net\.(0\.proj|2)",),
    ),
    "lumina": TransformerLayout(  # Z-Image, Lumina 2: refiners per stream, then joint layers
        image_attention=(r"noise_refiner\.\d+\.attention\.(qkv|out)",),
        text_attention=(r"context_refiner\.\d+\.attention\.(qkv|out)",),
        joint_attention=(r"layers\.\d+\.attention\.(qkv|out)",),
        image_mlp=(r"noise_refiner\.\d+\.feed_forward\.w[123]",),
        text_mlp=(r"context_refiner\.\d+\.feed_forward\.w[123]",),
        joint_mlp=(r"layers\.\d+\.feed_forward\.w[123]",),
    ),
    "mmdit": TransformerLayout(  # SD3.x: joint blocks of an image (x) and a text (context) half
        image_attention=(r"joint_blocks\.\d+\.x_block\.attn2?\.(qkv|proj)",),
        text_attention=(r"joint_blocks\.\d+\.context_block\.attn\.(qkv|proj)",),
        image_mlp=(r"joint_blocks\.\d+\.x_block\.mlp\.fc[12]",),
        text_mlp=(r"joint_blocks\.\d+\.context_block\.mlp\.fc[12]",),
    ),
}

# The token streams each train method adapts on a transformer, in the UNet methods' spirit: noxattn leaves the
# text-only path alone, xattn is every attention projection (the reference's FLUX sliders), full adds the MLPs.
TRANSFORMER_STREAMS = {
    "noxattn": ("image", "joint"),
    "xattn": ("image", "text", "joint"),
    "selfattn": ("image",),
    "full": ("image", "text", "joint"),
    "xattn-strict": ("text",),
}


def is_linear(module: nn.Module) -> bool:
    """nn.Linear or a host's quantized stand-in for it (ComfyUI's mixed-precision layers are plain Modules with
    the Linear attributes)."""
    return isinstance(module, nn.Linear) or (
        type(module).__name__.endswith("Linear") and hasattr(module, "in_features") and hasattr(module, "out_features"))


def select_transformer_modules(root: nn.Module, layout: str, method: str,
                               include_mlp: bool) -> tuple[list[str], dict[str, int]]:
    """(paths of the Linear projections the method adapts, in tree order; for fused attention+MLP projections
    adapted for attention only, the number of leading output rows adapted)."""
    check_choice("train method", method, TRAIN_METHODS)
    spec = LAYOUTS[layout]
    streams = TRANSFORMER_STREAMS[method]
    with_mlp = include_mlp or method == "full"
    attention = [pattern for stream in streams for pattern in getattr(spec, f"{stream}_attention")]
    mlp = [pattern for stream in streams for pattern in getattr(spec, f"{stream}_mlp")] if with_mlp else []
    paths: list[str] = []
    rows: dict[str, int] = {}
    for path, module in root.named_modules():
        if not path or not is_linear(module):
            continue
        in_attention = any(re.fullmatch(pattern, path) for pattern in attention)
        in_mlp = any(re.fullmatch(pattern, path) for pattern in mlp)
        if not (in_attention or in_mlp):
            continue
        paths.append(path)
        if in_attention and not in_mlp and any(re.fullmatch(pattern, path) for pattern in spec.fused_attention):
            rows[path] = 3 * int(module.in_features)
    if not paths:
        raise SliderConfigError(f"train method {method!r} selects no module of this model")
    return paths, rows
