"""diffusers UNet2DConditionModel module paths → the original (ldm) UNet's, for the adaptable layers.

kohya's sd-scripts names SDXL LoRA modules after the original UNet (input_blocks / middle_block /
output_blocks), so a slider trained in diffusers must be spelt that way to be the same file a ComfyUI-trained
one is. The layout is regular: level i of the down path has `layers_per_block` (ResNet[, attention]) blocks
then a downsampler, each its own input block; up levels have one block more; the middle is ResNet, attention,
ResNet.
"""
from __future__ import annotations

import re

from ..errors import SliderMismatchError

_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
           "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def diffusers_to_ldm(path: str, layers_per_block: int, up_block_types: tuple[str, ...]) -> str:
    """`down_blocks.1.attentions.0.proj_in` → `input_blocks.4.1.proj_in` (layers_per_block 2), and so on."""
    per_level = layers_per_block + 1
    patterns = (
        (r"down_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)$",
         lambda i, j, rest: f"input_blocks.{1 + i * per_level + j}.0.{_resnet(rest, path)}"),
        (r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$",
         lambda i, j, rest: f"input_blocks.{1 + i * per_level + j}.1.{rest}"),
        (r"down_blocks\.(\d+)\.downsamplers\.(0)\.(conv)$",
         lambda i, j, rest: f"input_blocks.{(i + 1) * per_level}.0.op"),
        (r"mid_block\.(resnets)\.(\d+)\.(\w+)$",
         lambda _, j, rest: f"middle_block.{2 * j}.{_resnet(rest, path)}"),
        (r"mid_block\.(attentions)\.(0)\.(.+)$", lambda _, j, rest: f"middle_block.1.{rest}"),
        (r"up_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)$",
         lambda i, j, rest: f"output_blocks.{i * per_level + j}.0.{_resnet(rest, path)}"),
        (r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$",
         lambda i, j, rest: f"output_blocks.{i * per_level + j}.1.{rest}"),
        (r"up_blocks\.(\d+)\.upsamplers\.(0)\.(conv)$",
         lambda i, j, rest: f"output_blocks.{i * per_level + per_level - 1}."
                            f"{2 if 'CrossAttn' in up_block_types[i] else 1}.conv"),
    )
    for pattern, spell in patterns:
        match = re.match(pattern, path)
        if match:
            first, second, rest = match.groups()
            return spell(int(first) if first.isdigit() else 0, int(second), rest)
    raise SliderMismatchError(f"no original-UNet name for diffusers module {path!r}")


def _resnet(name: str, path: str) -> str:
    if name not in _RESNET:
        raise SliderMismatchError(f"no original-UNet name for ResNet layer {name!r} in {path!r}")
    return _RESNET[name]
