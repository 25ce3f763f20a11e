"""A slider put onto a MODEL: checked against it, as the host's own weight patches, or as branches switched on
for part of sampling."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import comfy.lora
import torch

from ...slider_core.adaptors.branches import LowRankBranches
from ...slider_core.errors import SliderFormatError, SliderMismatchError
from ...slider_core.io.slider_files import slider_to_state_dict
from ...slider_core.model.architectures import architecture
from ...slider_core.model.delta_sizes import check_relative_sizes
from ...slider_core.model.keys import kohya_stem
from ...slider_core.model.slider import Slider, fused_rows
from . import shims
from .models import model_architecture, model_label

# Prefixes the LoRA dialects put before a module path; a slider stem is the path after them with dots as "_".
_DIALECT_PREFIXES = ("diffusion_model.", "transformer.", "unet.", "base_model.model.", "lora_unet_",
                     "lora_transformer_", "lycoris_")


def _stem_index(key_map: dict[str, Any]) -> dict[str, Any]:
    """Every name the host maps, spelt as a slider stem (`lora_unet_` + path with "_"), to its target: a weight
    key, or (weight key, (dim, first, count)) for a slice of a fused weight. This is how a diffusers-named file
    (the reference's FLUX sliders: `lora_unet_transformer_blocks_0_attn_to_q`) finds the host's own mapping of
    `transformer.transformer_blocks.0.attn.to_q`. Names that would reach two different targets are left out."""
    index: dict[str, Any] = {}
    clashes: set[str] = set()
    for key, target in key_map.items():
        if isinstance(target, tuple) and (len(target) != 2 or target[1] is None):
            continue  # a converted weight (e.g. FLUX's final adaLN swap): nothing a slider is trained on
        name = next((key[len(prefix):] for prefix in _DIALECT_PREFIXES if key.startswith(prefix)), key)
        stem = "lora_unet_" + name.replace(".", "_")
        if index.setdefault(stem, target) != target:
            clashes.add(stem)
    return {stem: target for stem, target in index.items() if stem not in clashes}


def match_slider_to_model(slider: Slider, patcher: Any) -> tuple[Slider, dict[str, str]]:
    """The slider as deltas on whole model weights, and each stem's weight key, or exactly why not (never a partial
    load). Deltas on slices of a fused weight (q, k, v of a fused qkv) are combined into one delta on it."""
    model_arch = model_architecture(patcher)
    slider_arch = slider.metadata.architecture
    if slider_arch and model_arch and architecture(slider_arch).family != model_arch.family:
        raise SliderMismatchError(
            f"slider '{slider.name}' was made for {slider_arch} but the model is {model_label(patcher)} "
            f"({model_arch.id}); load a slider trained for this model family"
        )
    key_map = comfy.lora.model_lora_keys_unet(patcher.model, {})
    index = _stem_index(key_map)
    weights = patcher.model.state_dict()
    whole: dict[str, str] = {}
    sliced: dict[str, list[tuple[int, int, str]]] = {}
    claimed: dict[object, str] = {}
    problems: list[str] = []
    for stem, delta in slider.deltas.items():
        target = key_map.get(stem, index.get(stem))
        if target is None:
            problems.append(f"{stem} (no such module)")
            continue
        key = target if isinstance(target, str) else target[0]
        _claim(slider, claimed, target if isinstance(target, str) else (key, *target[1]), stem, key)
        expected = tuple(weights[key].shape)
        if isinstance(target, str):
            if delta.weight_shape != expected:
                problems.append(f"{stem} (delta {delta.weight_shape}, model weight {expected})")
                continue
            whole[stem] = key
            continue
        dim, first, count = target[1]
        if dim != 0 or delta.weight_shape != (count, *expected[1:]):
            problems.append(f"{stem} (delta {delta.weight_shape}, rows {first}..{first + count} of model weight "
                            f"{expected})")
            continue
        sliced.setdefault(key, []).append((first, count, stem))
    matched = len(whole) + sum(len(parts) for parts in sliced.values())
    if problems:
        raise SliderMismatchError(
            f"slider '{slider.name}' does not fit model {model_label(patcher)}: {matched} of "
            f"{len(slider.deltas)} modules matched; first problem: {problems[0]}. "
            "It was probably trained for another architecture or model size."
        )
    fitted, keys = _fused(slider, whole, sliced, weights)
    check_relative_sizes(fitted, {stem: _norm(weights[key]) for stem, key in keys.items()}, keys)
    return fitted, keys


def _claim(slider: Slider, claimed: dict[object, str], target: object, stem: str, key: str) -> None:
    """Two modules of a slider that patch the same weight (a file holding it under kohya's diffusers and ldm names)
    would be applied twice with a start/end window, and one would silently win without one: an error naming both."""
    first = claimed.setdefault(target, stem)
    if first != stem:
        raise SliderFormatError(f"slider '{slider.name}': modules {first} and {stem} both patch {key} (the file holds "
                                "this module twice, in two key dialects); keep one of them")


def _fused(slider: Slider, whole: dict[str, str], sliced: dict[str, list[tuple[int, int, str]]],
           weights: dict[str, torch.Tensor]) -> tuple[Slider, dict[str, str]]:
    """The slider with deltas on slices of a fused weight combined into one delta on it, and each stem's key."""
    if not sliced:
        return slider, whole
    deltas = {stem: slider.deltas[stem] for stem in whole}
    keys = dict(whole)
    for key, parts in sliced.items():
        stem = kohya_stem(key.removeprefix("diffusion_model.").removesuffix(".weight"))
        if stem in deltas:
            raise SliderMismatchError(f"slider '{slider.name}' holds {key} both whole ({stem}) and in slices "
                                      f"({', '.join(part[2] for part in parts)}): it would be applied twice")
        try:
            deltas[stem] = fused_rows([(first, count, slider.deltas[name]) for first, count, name in parts],
                                      int(weights[key].shape[0]))
        except SliderFormatError as error:
            raise SliderMismatchError(f"slider '{slider.name}', {key}: {error}") from None
        keys[stem] = key
    return Slider(deltas=deltas, metadata=slider.metadata, name=slider.name), keys


def _norm(weight: torch.Tensor) -> float:
    """‖W‖_F in fp32 whatever the weight's storage (fp8 included)."""
    return float(torch.linalg.vector_norm(weight.detach().float()))


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
