"""Checks both training nodes must pass, run the same way: base weights untouched, progress per step, cancel."""
from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
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


@contextlib.contextmanager
def unthrottled_progress() -> Iterator[None]:
    """Shim: ComfyUI 0.33's ProgressBar passes an update on to the hook only once 100 ms and 0.5 % have passed since
    the last one it passed on (comfy/utils.py: ProgressBar.update_absolute, PROGRESS_THROTTLE_MIN_INTERVAL and
    _MIN_PERCENT; the first, the last and any update with a preview always go); the 2024 host passes on every one.
    These checks count the updates the node makes, and a fast device makes steps < 100 ms apart, so the throttle is
    off while they run."""
    names = [name for name in ("PROGRESS_THROTTLE_MIN_INTERVAL", "PROGRESS_THROTTLE_MIN_PERCENT")
             if hasattr(comfy.utils, name)]
    saved = {name: getattr(comfy.utils, name) for name in names}
    try:
        for name in names:
            setattr(comfy.utils, name, 0)
        yield
    finally:
        for name, value in saved.items():
            setattr(comfy.utils, name, value)


def progress_values(run: Callable[[], Any]) -> list[tuple[int, int]]:
    """(value, total) of every ProgressBar update the node makes while `run` executes, as the host's hook sees it."""
    calls: list[tuple[int, int]] = []
    previous = comfy.utils.PROGRESS_BAR_HOOK
    comfy.utils.set_progress_bar_global_hook(lambda value, total, preview=None, node_id=None: calls.append((value, total)))
    try:
        with unthrottled_progress():
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
        with pytest.raises(comfy.model_management.InterruptProcessingException), unthrottled_progress():
            run()
    finally:
        comfy.utils.set_progress_bar_global_hook(previous)
        comfy.model_management.interrupt_current_processing(False)
    return seen
