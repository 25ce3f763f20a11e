"""Keeping a base model frozen and bit-identical while autograd runs through it."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def frozen_parameters(root: nn.Module) -> Iterator[None]:
    """No gradient for base weights (and no .grad buffers), restored to the caller's flags afterwards."""
    flags = [(parameter, parameter.requires_grad) for parameter in root.parameters()]
    try:
        for parameter, _ in flags:
            if parameter.requires_grad:
                parameter.requires_grad_(False)
        yield
    finally:
        for parameter, flag in flags:
            if flag:
                parameter.requires_grad_(True)


@contextlib.contextmanager
def autograd_usable(root: nn.Module) -> Iterator[None]:
    """Stand-in copies of weights created under torch.inference_mode, for the duration.

    Hosts that load models inside inference mode (ComfyUI does) produce inference tensors, which autograd
    refuses to save for backward. The originals are put back afterwards, untouched, so the model is
    bit-identical; the price is one extra copy of those weights while training runs.
    """
    swapped: list[tuple[nn.Module, str, bool, torch.Tensor]] = []
    try:
        with torch.inference_mode(False):
            for module in root.modules():
                for table, is_parameter in ((module._parameters, True), (module._buffers, False)):
                    for name, tensor in list(table.items()):
                        if tensor is None or not tensor.is_inference():
                            continue
                        copy = tensor.clone()
                        table[name] = nn.Parameter(copy, requires_grad=False) if is_parameter else copy
                        swapped.append((module, name, is_parameter, tensor))
        yield
    finally:
        for module, name, is_parameter, original in swapped:
            (module._parameters if is_parameter else module._buffers)[name] = original
