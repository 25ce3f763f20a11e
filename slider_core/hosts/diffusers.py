"""The diffusers side of the training contract (slider_core.training.denoiser.Denoiser), for scripts and batch jobs.

A local diffusers folder (model_index.json) or a single-file checkpoint (.safetensors/.ckpt, with a local
diffusers folder giving its configs: nothing is downloaded) is loaded as a StableDiffusion(XL)Pipeline; the
UNet is the module tree adaptors attach to and prompts are encoded by the pipeline's own `encode_prompt`, so
the conditioning is exactly what that pipeline samples with. diffusers is imported only here, lazily.

Noise levels: the scheduler's ᾱ table gives σ_t = √((1 − ᾱ_t)/ᾱ_t); x_t = x_0 + σ·ε is fed to the UNet as
x_t/√(1+σ²) (the variance-preserving scale it was trained on) at the timestep whose log σ interpolates σ, as
ComfyUI does; its output (ε or v) is the prediction the loops train in (training/noise.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..adaptors.branches import LowRankBranches
from ..errors import SliderConfigError, SliderMismatchError
from ..model.architectures import architecture
from ..model.keys import kohya_stem
from ..model.module_selection import DIFFUSERS_ROLES, select_modules
from ..model.slider import Slider
from ..model.unet_names import diffusers_to_ldm
from ..training.noise import NoiseSchedule

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")


@dataclass
class DiffusersModel:
    """A loaded pipeline plus what the trainer needs to know about it."""

    pipeline: Any
    architecture: str  # an id of slider_core.model.architectures.ARCHITECTURES
    prediction: str  # "epsilon" or "v_prediction"
    sigmas: torch.Tensor

    @property
    def unet(self) -> nn.Module:
        return self.pipeline.unet

    @property
    def native_resolution(self) -> int:
        return 8 * int(self.unet.config.sample_size)


def load_model(path: str | Path, device: torch.device, config_folder: str | Path | None = None,
               v_prediction: bool | None = None, dtype: torch.dtype = torch.float32) -> DiffusersModel:
    """Load `path` (diffusers folder or single file) onto `device`; `v_prediction` overrides the scheduler's
    prediction type (the reference's `v_pred`). The weights are frozen and in eval mode."""
    import diffusers

    source = Path(path)
    options: dict[str, Any] = {"dtype": dtype, "local_files_only": True}
    if source.is_dir():
        if not (source / "model_index.json").is_file():
            raise SliderConfigError(f"{source} is a folder but not a diffusers pipeline (no model_index.json)")
        kind = _pipeline_class(diffusers, _read_index_class(source))
        pipeline = kind.from_pretrained(str(source), safety_checker=None, requires_safety_checker=False, **options) \
            if kind is diffusers.StableDiffusionPipeline else kind.from_pretrained(str(source), **options)
    elif source.is_file() and source.suffix in SINGLE_FILE_SUFFIXES:
        kind = diffusers.StableDiffusionXLPipeline if _is_sdxl_checkpoint(source) else diffusers.StableDiffusionPipeline
        if config_folder is not None:
            options["config"] = str(config_folder)
        try:
            pipeline = kind.from_single_file(str(source), **options)
        except OSError as error:
            raise SliderConfigError(
                f"{source.name}: diffusers could not build a pipeline from it offline ({error}); give the matching "
                "diffusers folder's configs with --model-config (our schema: model_config)"
            ) from None
    else:
        raise SliderConfigError(
            f"model {source} not found: give a local diffusers folder or a {'/'.join(SINGLE_FILE_SUFFIXES)} file"
        )
    pipeline.to(device)
    for module in (pipeline.unet, pipeline.text_encoder, getattr(pipeline, "text_encoder_2", None), pipeline.vae):
        if module is not None:
            module.requires_grad_(False).eval()
    prediction = pipeline.scheduler.config.get("prediction_type", "epsilon")
    if v_prediction is not None:
        prediction = "v_prediction" if v_prediction else "epsilon"
    if prediction not in ("epsilon", "v_prediction"):
        raise SliderConfigError(f"unsupported prediction type {prediction!r}: SD1.x/2.x/XL predict epsilon or v")
    alphas = pipeline.scheduler.alphas_cumprod.double()
    sigmas = ((1 - alphas) / alphas).sqrt().float()
    return DiffusersModel(pipeline=pipeline, architecture=_architecture(pipeline, prediction), prediction=prediction,
                          sigmas=sigmas)


def _read_index_class(folder: Path) -> str:
    import json

    return str(json.loads((folder / "model_index.json").read_text()).get("_class_name", ""))


def _pipeline_class(diffusers: Any, name: str) -> Any:
    if "XL" in name:
        return diffusers.StableDiffusionXLPipeline
    if name.startswith("StableDiffusion"):
        return diffusers.StableDiffusionPipeline
    raise SliderConfigError(f"pipeline {name!r} is not a Stable Diffusion 1.x/2.x/XL pipeline")


def _is_sdxl_checkpoint(path: Path) -> bool:
    if path.suffix != ".safetensors":
        return False
    import safetensors

    with safetensors.safe_open(str(path), framework="pt") as handle:
        return any(key.startswith("conditioner.embedders.1") for key in handle.keys())


def _architecture(pipeline: Any, prediction: str) -> str:
    if getattr(pipeline, "text_encoder_2", None) is not None:
        return "sdxl"
    if int(pipeline.unet.config.cross_attention_dim) == 1024:
        return "sd2-v" if prediction == "v_prediction" else "sd2"
    return "sd1"


def target_paths(model: DiffusersModel, method: str, include_conv: bool) -> list[str]:
    """UNet module paths (diffusers names) a train method adapts; the same selection as the ComfyUI host's."""
    return select_modules(model.unet, method, include_conv, DIFFUSERS_ROLES)


def kohya_stems(model: DiffusersModel, paths: Sequence[str]) -> dict[str, str]:
    """Diffusers names for SD1.x/2.x, the original (ldm) names for SDXL: the names kohya's sd-scripts writes
    and the ComfyUI host's trainer writes, so a slider is the same file whichever host trained it."""
    if architecture(model.architecture).stem_naming == "diffusers":
        return {path: kohya_stem(path) for path in paths}
    config = model.unet.config
    return {path: kohya_stem(diffusers_to_ldm(path, int(config.layers_per_block), tuple(config.up_block_types)))
            for path in paths}


def recompute_units(model: DiffusersModel) -> list[nn.Module]:
    """ResNet blocks and transformer blocks: the units recomputed in backward under gradient checkpointing."""
    return [module for module in model.unet.modules()
            if type(module).__name__ in ("ResnetBlock2D", "Transformer2DModel")]


class DiffusersDenoiser:
    """The prediction (ε or v) of a diffusers UNet2DConditionModel at x_t = x₀ + σ·ε, prompts encoded once up front."""

    latent_multiple = 8  # the SD UNets' three downsamplings

    def __init__(self, model: DiffusersModel, texts: Sequence[str], pixel_size: tuple[int, int]) -> None:
        self.model = model
        self.root = model.unet
        self.device = model.unet.device
        self.latent_channels = int(model.unet.config.in_channels)
        prediction = "v" if model.prediction == "v_prediction" else "epsilon"
        self.schedule = NoiseSchedule(model.sigmas.cpu(), "variance_exploding", prediction)
        self.log_sigmas = model.sigmas.log().to(self.device)
        self.contexts, pooled = encode_prompts(model, texts)
        self.added: dict[str, torch.Tensor] | None = None
        if pooled is not None:
            height, width = pixel_size
            size = torch.tensor([height, width, 0, 0, height, width], dtype=self.contexts.dtype, device=self.device)
            self.added = {"text_embeds": pooled, "time_ids": size.expand(len(texts), -1)}

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        """Fractional timestep whose log σ interpolates linearly between the table's neighbours."""
        log_sigma = sigma.float().log()
        table = self.log_sigmas
        low = (log_sigma[None, :] >= table[:, None]).sum(0).sub(1).clamp(0, len(table) - 2)
        high = low + 1
        weight = ((log_sigma - table[low]) / (table[high] - table[low])).clamp(0, 1)
        return low.float() + weight

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        return (self.latent_channels, height, width)

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, prompts: Sequence[int]) -> torch.Tensor:
        """The UNet's own output, fed x_t/√(1+σ²) (the variance-preserving scale it was trained on)."""
        index = torch.tensor(list(prompts), device=self.device)
        sigma = sigma.to(x.device)
        alpha = (1.0 / torch.sqrt(1.0 + sigma.float() ** 2)).to(x.dtype).reshape(-1, 1, 1, 1)
        added = None if self.added is None else {key: value[index] for key, value in self.added.items()}
        return self.root(x * alpha, self.timestep(sigma), encoder_hidden_states=self.contexts[index],
                         added_cond_kwargs=added).sample


def encode_prompts(model: DiffusersModel, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(contexts, pooled or None), one row per text, through the pipeline's own prompt encoder."""
    pipeline = model.pipeline
    device = model.unet.device
    with torch.no_grad():
        if architecture(model.architecture).pooled_text:
            contexts, _, pooled, _ = pipeline.encode_prompt(list(texts), device=device, num_images_per_prompt=1,
                                                             do_classifier_free_guidance=False)
            return contexts.detach(), pooled.detach()
        contexts, _ = pipeline.encode_prompt(list(texts), device, 1, False)
    return contexts.detach(), None


def encode_images(model: DiffusersModel, images: torch.Tensor) -> torch.Tensor:
    """Model-space latents of images (B, H, W, 3) in [0, 1]: the VAE posterior's mean times the VAE's scaling
    factor (what the UNet denoises; the mean, not a sample, so a pair is encoded deterministically)."""
    vae = model.pipeline.vae
    pixels = images.movedim(-1, 1).to(device=vae.device, dtype=vae.dtype) * 2.0 - 1.0
    with torch.no_grad():
        latents = vae.encode(pixels).latent_dist.mean
    return latents * float(vae.config.scaling_factor)


def slider_branches(model: DiffusersModel, slider: Slider, strength: float) -> LowRankBranches:
    """A slider file applied to the diffusers UNet at `strength` (forward hooks, weights untouched): use
    `with slider_branches(...).attached(model.unet): pipeline(...)`."""
    every = target_paths(model, "full", include_conv=True)
    by_stem = {stem: path for path, stem in kohya_stems(model, every).items()}
    missing = [stem for stem in slider.deltas if stem not in by_stem]
    if missing:
        raise SliderMismatchError(f"slider '{slider.name}' does not fit this {model.architecture} UNet: "
                                  f"{len(missing)} modules unknown, e.g. {missing[0]}")
    return LowRankBranches.from_slider(slider, by_stem, strength)
