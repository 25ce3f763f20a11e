"""Which modules a slider adapts: the reference implementation's train methods, on any module tree.

The reference (diffusers names) adapts the Linear/Conv children of `Attention` blocks, and with conv layers on
(its default "c3lier" network) those of `ResnetBlock2D`, `Downsample2D` and `Upsample2D`; the method then filters
by attention kind: attn1 is self-attention, attn2 cross-attention (the text path). The host says which class
names play these roles in its own tree (ComfyUI's ldm UNet: CrossAttention, ResBlock, Downsample, Upsample).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..choices import check_choice
from ..errors import SliderConfigError

TRAIN_METHODS = ("noxattn", "xattn", "selfattn", "full", "xattn-strict")
DEFAULT_TRAIN_METHOD = "noxattn"  # the reference's default: everything but the text (cross-attention) path
DEFAULT_INCLUDE_CONV = True  # the reference's default "c3lier" network adapts convolutions too


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
