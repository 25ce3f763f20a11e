"""Gradient checkpointing for a frozen tree we do not own: wrap chosen submodules' forward for the duration.

Activations inside each wrapped unit are recomputed during backward instead of stored, trading ~30% more
compute for a large cut in activation memory. The adaptor hooks must still be attached during backward.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from torch import nn
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def gradient_checkpointed(units: list[nn.Module], enabled: bool = True) -> Iterator[None]:
    wrapped: list[nn.Module] = []
    try:
        if enabled:
            for unit in units:
                unit.forward = functools.partial(checkpoint, unit.forward, use_reentrant=False)
                wrapped.append(unit)
        yield
    finally:
        for unit in wrapped:
            del unit.forward
