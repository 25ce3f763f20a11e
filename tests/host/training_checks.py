"""Checks both training nodes must pass, run the same way: base weights untouched, progress per step, cancel."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import comfy.model_management
import comfy.utils
import pytest
import torch


def weights_hash(patcher: Any) -> str:
    """SHA-256 over every base weight's bytes: equal hashes mean bit-identical weights."""
    digest = hashlib.sha256()
    for key, value in sorted(patcher.model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def progress_values(run: Callable[[], Any]) -> list[tuple[int, int]]:
    """(value, total) of every ProgressBar update the host's UI would receive while `run` executes."""
    calls: list[tuple[int, int]] = []
    previous = comfy.utils.PROGRESS_BAR_HOOK
    comfy.utils.set_progress_bar_global_hook(lambda value, total, preview=None, node_id=None: calls.append((value, total)))
    try:
        run()
    finally:
        comfy.utils.set_progress_bar_global_hook(previous)
    return calls


def steps_before_cancel(run: Callable[[], Any], cancel_at: int) -> list[int]:
    """Press the host's cancel when progress reaches `cancel_at`; the steps reported before `run` stopped."""
    seen: list[int] = []
    previous = comfy.utils.PROGRESS_BAR_HOOK

    def hook(value: int, total: int, preview: Any = None, node_id: Any = None) -> None:
        seen.append(value)
        if value == cancel_at:
            comfy.model_management.interrupt_current_processing(True)

    comfy.utils.set_progress_bar_global_hook(hook)
    try:
        with pytest.raises(comfy.model_management.InterruptProcessingException):
            run()
    finally:
        comfy.utils.set_progress_bar_global_hook(previous)
        comfy.model_management.interrupt_current_processing(False)
    return seen
