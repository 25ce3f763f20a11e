"""Gradient checkpointing for a frozen tree we do not own: wrap chosen submodules' forward for the duration.

Activations inside each wrapped unit are recomputed during backward instead of stored, trading ~30% more
compute for a large cut in activation memory. The adaptor hooks must still be attached during backward. Each
unit's tensor inputs are copied inside the recomputed function, so blocks that add residuals to their inputs in
place (FLUX's) recompute exactly what they computed the first time.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


def _with_private_inputs(forward: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        copy = lambda value: value.clone() if isinstance(value, torch.Tensor) else value  # noqa: E731
        return forward(*(copy(arg) for arg in args), **{key: copy(value) for key, value in kwargs.items()})

    return run


@contextlib.contextmanager
def gradient_checkpointed(units: list[nn.Module], enabled: bool = True) -> Iterator[None]:
    wrapped: list[nn.Module] = []
    try:
        if enabled:
            for unit in units:
                unit.forward = functools.partial(checkpoint, _with_private_inputs(unit.forward), use_reentrant=False)
                wrapped.append(unit)
        yield
    finally:
        for unit in wrapped:
            del unit.forward
