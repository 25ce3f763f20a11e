"""The one low-rank forward of the pack, and the one way it is attached to a module tree.

A slider's module at strength s outputs f(x) + s·(α/r)·up(down(x)): the base layer f untouched, the low-rank
branch added to its output by a forward hook. Training (trainable factors, a strength per sample) and scheduled
application (fixed factors switched on for part of sampling) are the same maths through the same code.
Hooks, not weight edits: base weights are never written, so they stay bit-identical whatever happens.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

Branch = Callable[[nn.Module, torch.Tensor], torch.Tensor]
"""(the hooked module, its input) → what is added to its output."""


def low_rank_output(module: nn.Module, x: torch.Tensor, down: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """up(down(x)) in `module`'s own geometry: linear factors (r, in) / (out, r), or a k×k convolution to r
    channels with the module's stride, padding and dilation followed by a 1×1 one (LoCon)."""
    down = down.to(device=x.device, dtype=x.dtype)
    up = up.to(device=x.device, dtype=x.dtype)
    if down.dim() == 2:
        return F.linear(F.linear(x, down), up)
    hidden = F.conv2d(x, down, None, module.stride, module.padding, module.dilation)
    return F.conv2d(hidden, up)


def per_sample(strengths: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Strength i of a batch shaped to scale sample i of `out`; a model that repeats each sample inside its
    forward (a batch larger than the strengths by a whole factor) repeats its strength with it."""
    scales = strengths.to(device=out.device, dtype=out.dtype).reshape(-1, *([1] * (out.dim() - 1)))
    if scales.shape[0] != out.shape[0]:
        scales = scales.repeat_interleave(out.shape[0] // scales.shape[0], dim=0)
    return scales


@contextlib.contextmanager
def branches_attached(root: nn.Module, branches: Mapping[str, Branch]) -> Iterator[None]:
    """Within the block, the module at each path (relative to `root`) outputs f(x) + branch(module, x)."""
    handles = []
    try:
        for path, branch in branches.items():
            handles.append(root.get_submodule(path).register_forward_hook(_adding(branch)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _adding(branch: Branch):
    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
        return output + branch(module, inputs[0])

    return hook
