"""Everything that touches ComfyUI internals lives here, behind small functions with stable names.

Two host generations are supported (the 2024 snapshot CI uses and current ComfyUI); where their APIs differ
the difference is absorbed by a named shim in this module, never in the node classes.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import comfy.lora
import comfy.model_base
import comfy.model_management
import comfy.sample
import comfy.samplers
import comfy.utils
import folder_paths
import torch

from ..slider_core.bypass import LowRankBranches
from ..slider_core.errors import SliderConfigError, SliderError, SliderMismatchError
from ..slider_core.formats import SLIDER_SUFFIXES, slider_to_state_dict
from ..slider_core.keys import kohya_stem
from ..slider_core.slider import Slider
from ..slider_core.targets import LDM_ROLES, select_target_modules

SLIDER_FOLDER = "concept_sliders"
LORA_FOLDER = "loras"
LORA_CHOICE_PREFIX = "loras/"

_ARCHITECTURE_BY_CONFIG = {
    "SD15": "sd1",
    "SD20": "sd2",
    "SD21UnclipL": "sd2",
    "SD21UnclipH": "sd2",
    "SDXL": "sdxl",
    "SSD1B": "sdxl",
    "Segmind_Vega": "sdxl",
    "KOALA_700M": "sdxl",
    "KOALA_1B": "sdxl",
}


def register_slider_folder() -> None:
    """A dedicated `models/concept_sliders` folder, so sliders do not drown among ordinary LoRAs."""
    if SLIDER_FOLDER not in folder_paths.folder_names_and_paths:
        folder = os.path.join(folder_paths.models_dir, SLIDER_FOLDER)
        folder_paths.folder_names_and_paths[SLIDER_FOLDER] = ([folder], set(SLIDER_SUFFIXES))


def slider_file_choices() -> list[str]:
    """Files of the sliders folder as-is, then the loras folder's under a `loras/` prefix."""
    ours = folder_paths.get_filename_list(SLIDER_FOLDER)
    loras = [LORA_CHOICE_PREFIX + name for name in folder_paths.get_filename_list(LORA_FOLDER)]
    return ours + loras


def resolve_slider_file(choice: str) -> str | None:
    path = folder_paths.get_full_path(SLIDER_FOLDER, choice)
    if path is None and choice.startswith(LORA_CHOICE_PREFIX):
        path = folder_paths.get_full_path(LORA_FOLDER, choice[len(LORA_CHOICE_PREFIX):])
    return path


def slider_output_folder() -> str:
    return folder_paths.get_folder_paths(SLIDER_FOLDER)[0]


def model_architecture(patcher: Any) -> str | None:
    """Our architecture id for a MODEL, or None for model families we have no slider convention for."""
    base = patcher.model
    architecture = _ARCHITECTURE_BY_CONFIG.get(type(base.model_config).__name__)
    if architecture == "sd2" and base.model_type == comfy.model_base.ModelType.V_PREDICTION:
        return "sd2-v"
    return architecture


def model_label(patcher: Any) -> str:
    base = patcher.model
    return f"{type(base.model_config).__name__} ({type(base).__name__})"


def match_slider_to_model(slider: Slider, patcher: Any) -> dict[str, str]:
    """Map every slider module onto a model weight key, or explain exactly why not (never a partial load)."""
    model_arch = model_architecture(patcher)
    slider_arch = slider.metadata.architecture
    if slider_arch and model_arch and _family(slider_arch) != _family(model_arch):
        raise SliderMismatchError(
            f"slider '{slider.name}' was made for {slider_arch} but the model is {model_label(patcher)} "
            f"({model_arch}); load a slider trained for this model family"
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


def _family(architecture: str) -> str:
    return "sd2" if architecture.startswith("sd2") else architecture


def with_slider_patches(patcher: Any, slider: Slider, strength: float, keys: dict[str, str]) -> Any:
    """Weight patches through the host's own LoRA path: the same adapters LoraLoaderModelOnly builds."""
    patches = comfy.lora.load_lora(slider_to_state_dict(slider), keys)
    model = patcher.clone()
    model.add_patches(patches, strength)
    return model


def sigma_window(patcher: Any, start_percent: float, end_percent: float) -> tuple[float, float]:
    """(sigma at start, sigma at end) of the sampling fraction in which the slider is active."""
    get_object = getattr(patcher, "get_model_object", None)  # shim: absent in the 2024 host
    sampling = get_object("model_sampling") if get_object else patcher.model.model_sampling
    return float(sampling.percent_to_sigma(start_percent)), float(sampling.percent_to_sigma(end_percent))


def with_scheduled_slider(patcher: Any, slider: Slider, strength: float, keys: dict[str, str],
                          start_percent: float, end_percent: float) -> Any:
    """Slider active only inside [start, end] of sampling: a low-rank branch added to module outputs.

    Weight patches are baked for the whole run, so a per-step switch would need re-patching the UNet each
    step; adding s·(α/r)·up(down(x)) to the output of each module is the same maths, costs two thin matmuls,
    and is installed per call through the host's model_function_wrapper, which composes with other patches.
    """
    model = patcher.clone()
    sigma_start, sigma_end = sigma_window(patcher, start_percent, end_percent)
    branches = LowRankBranches.from_slider(slider, {stem: key[: -len(".weight")] for stem, key in keys.items()}, strength)
    previous = model.model_options.get("model_function_wrapper")
    model.set_model_unet_function_wrapper(ScheduledSliderWrapper(branches, sigma_start, sigma_end, previous))
    return model


class ScheduledSliderWrapper:
    """A model_function_wrapper: switches the branches on while sigma is inside the window, chains others."""

    def __init__(self, branches: Any, sigma_start: float, sigma_end: float, previous: Callable | None) -> None:
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


def progress_bar(total: int) -> Any:
    return comfy.utils.ProgressBar(total)


def raise_if_cancelled() -> None:
    comfy.model_management.throw_exception_if_processing_interrupted()


def sampler_names() -> list[str]:
    """The host's own sampler list (the KSampler node's), so a sweep offers exactly what KSampler offers."""
    return comfy.samplers.KSampler.SAMPLERS


def scheduler_names() -> list[str]:
    return comfy.samplers.KSampler.SCHEDULERS


def empty_latent(patcher: Any, width: int, height: int) -> torch.Tensor:
    """One empty latent exactly as EmptyLatentImage → KSampler sees it: zeros at 1/8 of the pixel size."""
    latent = torch.zeros([1, 4, height // 8, width // 8], device=comfy.model_management.intermediate_device())
    widen = getattr(comfy.sample, "fix_empty_latent_channels", None)  # shim: absent in the 2024 host
    return widen(patcher, latent) if widen is not None else latent


def sample_seeded(patcher: Any, latent: torch.Tensor, seed: int, steps: int, cfg: float, sampler_name: str,
                  scheduler: str, positive: Any, negative: Any,
                  on_step: Callable[[], None] | None = None) -> torch.Tensor:
    """KSampler's full-denoise sample without its preview/progress UI: the same noise for the same seed, whatever
    the model, which is what lets a sweep compare models (slider strengths) on one noise.

    The noise is drawn right before sampling, as KSampler draws it, because prepare_noise seeds torch's global
    generator and the 2024 host's ancestral/SDE samplers draw their extra noise from that global state (current
    ComfyUI seeds a private generator from `seed`); drawing every noise up front would change those samplers'
    images after the first.
    """
    noise = comfy.sample.prepare_noise(latent, seed)
    callback = None if on_step is None else (lambda step, denoised, x, total: on_step())
    return comfy.sample.sample(patcher, noise, steps, cfg, sampler_name, scheduler, positive, negative, latent,
                               denoise=1.0, callback=callback, disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED,
                               seed=seed)


def kohya_stems(patcher: Any, module_paths: list[str]) -> dict[str, str]:
    """Kohya stems for host module paths (relative to the BaseModel): diffusers names for SD1.x/2.x, the
    original names for SDXL, as kohya's sd-scripts writes them, so A1111/Forge read our files too."""
    relative = {path: path.removeprefix("diffusion_model.") for path in module_paths}
    if model_architecture(patcher) in ("sdxl", None):
        return {path: kohya_stem(inner) for path, inner in relative.items()}
    to_diffusers = {
        ldm[: -len(".weight")]: diffusers[: -len(".weight")]
        for diffusers, ldm in comfy.utils.unet_to_diffusers(patcher.model.model_config.unet_config).items()
        if ldm.endswith(".weight")
    }
    missing = [inner for inner in relative.values() if inner not in to_diffusers]
    if missing:
        raise SliderMismatchError(f"no diffusers name for module {missing[0]} of {model_label(patcher)}")
    return {path: kohya_stem(to_diffusers[inner]) for path, inner in relative.items()}


def slider_target_paths(patcher: Any, method: str, include_conv: bool) -> list[str]:
    """Module paths (relative to the BaseModel) that a train method adapts in this host's UNet."""
    inner = select_target_modules(patcher.model.diffusion_model, method, include_conv, LDM_ROLES)
    return ["diffusion_model." + path for path in inner]


def training_resolution(patcher: Any, requested: int) -> int:
    """Pixels per side: the request, or the model family's native size (a loader may state its own)."""
    if requested:
        if requested % 64:
            raise SliderConfigError(f"resolution {requested} is not a multiple of 64")
        return requested
    native = getattr(patcher.model.model_config, "native_resolution", None)
    if native:
        return int(native)
    return 1024 if model_architecture(patcher) == "sdxl" else 512


def checkpoint_units(patcher: Any) -> list[torch.nn.Module]:
    """The UNet's ResBlocks and SpatialTransformers: the units gradient checkpointing recomputes."""
    return [module for module in patcher.model.diffusion_model.modules()
            if type(module).__name__ in ("ResBlock", "SpatialTransformer")]


@contextlib.contextmanager
def training_mode(patcher: Any, precision: str, config: Any) -> Iterator[None]:
    """Autograd on (ComfyUI runs nodes under inference_mode), optional autocast, memory released afterwards,
    and out-of-memory turned into advice naming the settings that reduce it."""
    device = patcher.load_device
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = (torch.autocast(device_type=device.type, dtype=dtype) if dtype is not None
                else contextlib.nullcontext())
    try:
        with torch.inference_mode(False), torch.enable_grad(), autocast:
            yield
    except torch.cuda.OutOfMemoryError:
        raise SliderError(
            f"out of memory while training on {device} (batch size {config.batch_size}, latent "
            f"{config.latent_size[0]}x{config.latent_size[1]}, rank {config.rank}): turn on gradient_checkpointing, "
            "use bf16/fp16 precision, or lower batch_size or resolution"
        ) from None
    finally:
        comfy.model_management.soft_empty_cache()


class TrainingProgress:
    """ProgressBar once per step, the loss in the UI where the host can show text, and the user's cancel
    honoured right after the step it arrives in."""

    def __init__(self, total: int, label: str) -> None:
        self.bar = comfy.utils.ProgressBar(total)
        self.label = label
        self.losses: list[float] = []
        self.last_report = 0.0

    def step(self, step: int, total: int, loss: float) -> None:
        self.losses.append(loss)
        self.bar.update_absolute(step, total)
        now = time.monotonic()
        if now - self.last_report > 2.0 or step == total:
            self.last_report = now
            logging.info("concept sliders: %s step %d/%d loss %.5f", self.label, step, total, loss)
            _send_progress_text(f"{self.label}: step {step}/{total}, loss {loss:.5f}")
        comfy.model_management.throw_exception_if_processing_interrupted()


def _send_progress_text(text: str) -> None:
    """Shim: current ComfyUI can show text under a node; the 2024 host and headless runs cannot."""
    try:
        from server import PromptServer
    except ImportError:
        return
    server = getattr(PromptServer, "instance", None)
    send = getattr(server, "send_progress_text", None)
    node_id = getattr(server, "last_node_id", None)
    if send is not None and node_id is not None:
        send(text, node_id)


def latents_to_model_space(patcher: Any, samples: torch.Tensor) -> torch.Tensor:
    """Raw LATENT samples (what VAEEncode/KSampler hand around) into the space the UNet denoises, as KSampler
    does on the way in: the model family's latent scaling (SD1.x: × 0.18215; SDXL: × 0.13025)."""
    return patcher.model.process_latent_in(samples)


def encode_pixels(vae: Any, images: torch.Tensor) -> torch.Tensor:
    """What VAEEncode does: raw LATENT samples of a ComfyUI IMAGE batch (B, H, W, 3)."""
    return vae.encode(images[:, :, :, :3])


def latent_channels(patcher: Any) -> int:
    """Channels of the latents the model denoises (4 for SD1.x/SDXL)."""
    return int(patcher.model.model_config.unet_config.get("in_channels", 4))
