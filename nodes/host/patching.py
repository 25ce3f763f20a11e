"""A slider put onto a MODEL: checked against it, as the host's own weight patches, or as branches switched on
for part of sampling."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import comfy.lora
import torch

from ...slider_core.adaptors.branches import LowRankBranches
from ...slider_core.errors import SliderMismatchError
from ...slider_core.io.slider_files import slider_to_state_dict
from ...slider_core.model.architectures import architecture
from ...slider_core.model.slider import Slider
from . import shims
from .models import model_architecture, model_label


def match_slider_to_model(slider: Slider, patcher: Any) -> dict[str, str]:
    """Map every slider module onto a model weight key, or explain exactly why not (never a partial load)."""
    model_arch = model_architecture(patcher)
    slider_arch = slider.metadata.architecture
    if slider_arch and model_arch and architecture(slider_arch).family != model_arch.family:
        raise SliderMismatchError(
            f"slider '{slider.name}' was made for {slider_arch} but the model is {model_label(patcher)} "
            f"({model_arch.id}); load a slider trained for this model family"
        )
    key_map = comfy.lora.model_lora_keys_unet(patcher.model, {})
    weights = patcher.model.state_dict()
    matched: dict[str, str] = {}
    problems: list[str] = []
    for stem, delta in slider.deltas.items():
        host_key = key_map.get(stem)
        if host_key is None:
            problems.append(f"{stem} (no such module)")
            continue
        shape, expected = delta.weight_shape, tuple(weights[host_key].shape)
        if shape != expected:
            problems.append(f"{stem} (delta {shape}, model weight {expected})")
            continue
        matched[stem] = host_key
    if problems:
        raise SliderMismatchError(
            f"slider '{slider.name}' does not fit model {model_label(patcher)}: {len(matched)} of "
            f"{len(slider.deltas)} modules matched; first problem: {problems[0]}. "
            "It was probably trained for another architecture or model size."
        )
    return matched


def with_slider_patches(patcher: Any, slider: Slider, strength: float, keys: dict[str, str]) -> Any:
    """Weight patches through the host's own LoRA path: the same adapters LoraLoaderModelOnly builds."""
    patches = comfy.lora.load_lora(slider_to_state_dict(slider), keys)
    model = patcher.clone()
    model.add_patches(patches, strength)
    return model


def sigma_window(patcher: Any, start_percent: float, end_percent: float) -> tuple[float, float]:
    """(sigma at start, sigma at end) of the sampling fraction in which the slider is active."""
    sampling = shims.model_sampling(patcher)
    return float(sampling.percent_to_sigma(start_percent)), float(sampling.percent_to_sigma(end_percent))


def with_scheduled_slider(patcher: Any, slider: Slider, strength: float, keys: dict[str, str],
                          start_percent: float, end_percent: float) -> Any:
    """Slider active only inside [start, end] of sampling: a low-rank branch added to module outputs, installed
    per call through the host's model_function_wrapper, which composes with other patches."""
    model = patcher.clone()
    sigma_start, sigma_end = sigma_window(patcher, start_percent, end_percent)
    branches = LowRankBranches.from_slider(slider, {stem: key[: -len(".weight")] for stem, key in keys.items()}, strength)
    previous = model.model_options.get("model_function_wrapper")
    model.set_model_unet_function_wrapper(ScheduledSliderWrapper(branches, sigma_start, sigma_end, previous))
    return model


class ScheduledSliderWrapper:
    """A model_function_wrapper: switches the branches on while sigma is inside the window, chains others."""

    def __init__(self, branches: LowRankBranches, sigma_start: float, sigma_end: float,
                 previous: Callable | None) -> None:
        self.branches = branches
        self.sigma_start = sigma_start
        self.sigma_end = sigma_end
        self.previous = previous

    def __call__(self, apply_model: Callable, args: dict[str, Any]) -> torch.Tensor:
        sigma = float(args["timestep"].max())
        if not self.sigma_end <= sigma <= self.sigma_start:
            return self._run(apply_model, args)
        with self.branches.attached(apply_model.__self__):
            return self._run(apply_model, args)

    def _run(self, apply_model: Callable, args: dict[str, Any]) -> torch.Tensor:
        if self.previous is not None:
            return self.previous(apply_model, args)
        return apply_model(args["input"], args["timestep"], **args["c"])

    def to(self, device: torch.device) -> ScheduledSliderWrapper:
        if self.previous is not None and hasattr(self.previous, "to"):
            self.previous = self.previous.to(device)
        return self
