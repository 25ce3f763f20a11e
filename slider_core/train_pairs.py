"""The image-pair slider training loop (host-agnostic; the host supplies a Denoiser and model-space latents).

For a pair (x_A "before", x_B "after") noised with the same ε at the same σ (x = x₀ + σ·ε, σ uniform over the
model's discrete σ table), the slider at scale s is trained on (the paper's visual sliders, the reference's
image sliders)

    L = ‖ε_θ₋ₛ(x_A + σε, σ, c_A) − ε‖² + ‖ε_θ₊ₛ(x_B + σε, σ, c_B) − ε‖²

Why it isolates the attribute: what would help denoise *both* images is the same at +s and −s (even in s), while
the adaptor's effect is, to first order, s·ΔW (odd in s), so the shared content's gradients cancel between the
two terms and only the difference between the images — the attribute — ends up in ΔW. (Higher orders of s
through stacked adapted layers can still learn some shared content; a high learning rate makes them matter.)
Sharing ε (and σ) makes the two inputs differ exactly by x_B − x_A, so none of the signal is noise difference.

The two sides run as two forward+backward passes with accumulated gradients (`side_batching="separate"`, the
default): the same gradient as one loss over both, at the activation memory of one side, which is the
reference's peak too (it backpropagates loss_high, then loss_low, before one optimiser step). One forward over
the batch [x_A-rows at −s, x_B-rows at +s] with TrainableSlider's per-sample scales (`"joint"`) halves the
kernel launches and hook calls but holds both sides' activations. Measured (benchmarks/train_pairs.py, CPU):
joint is 1.3-1.4x faster per step on the launch-bound toy model and 1.0-1.35x on an SD1.5-size UNet at 256 px
(less the more pairs per step), but needs 1.9x the training memory there (2.6 vs 1.4 GiB). Memory is what
stops a slider from training at all on a consumer GPU, so it decides, as it did for text sliders.

Scales: each step draws one s from `scales` (all positive). Several values ("1, 2") train the same pairs at
several strengths, which flattens the slider's response: the pair's difference is reached at every listed
strength, so strength 1 moves further than with "2" alone and 2 barely further than 1. The reference instead
pairs folders of images made *for* each scale; with one set of pairs, the list applies to all of them.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .denoiser import Denoiser
from .errors import SliderConfigError
from .objectives import image_pair_loss
from .session import TrainingSession
from .training_run import (
    StepCallback,
    TrainingRun,
    TrainResult,
    check_finite,
    common_checks,
    config_from_dict,
    require,
    training_run,
)

MAX_SCALE = 10.0  # Slider Strength's own range: a pair trained beyond it could not be reproduced at sampling time
LATENT_MULTIPLE = 8  # SD UNets downsample latents 3x by 2; pixels are 8x latents, hence images in multiples of 64
PIXEL_MULTIPLE = 64
SIDE_BATCHING = ("separate", "joint")


@dataclass
class PairConfig:
    """Defaults: the reference's rank 4 / alpha 1 / 1000 iterations and one strength level, but a learning rate
    10x below its 2e-4, which users found ruins image sliders (reference issue #47; 1e-5 fixed it).

    Why 2e-5, measured on the toy world (benchmarks/train_pairs.py; 1000 steps, 6 size pairs, sweeps −2…2 on 16
    seeds): quality against learning rate is a plateau ending in a cliff. Size effect (in spreads across seeds) /
    worst other attribute's effect relative to it: 2e-5 0.13 (nothing learnt), 5e-4 2.62/0.42, 1e-3 2.91/0.13,
    2e-3 3.24/0.15, 5e-3 3.09/0.20, 1e-2 2.88/0.21 (the red share's spread across seeds at ±2 already falls to
    65% of strength 0's: scenes start being copied), then 2e-2 breaks — another attribute moves 0.58x (4.6x in
    a run differing only in float rounding: at the cliff training is chaotic) as far as size, median ρ 0.9 (0.5):
    the "mess". The toy UNet is far smaller than SD's (10-20x narrower, fewer adapted layers), so its curve sits
    at higher rates. Calibrating with the one SD fact there is — 2e-4 makes a mess — at the toy cliff (2e-2)
    gives a factor of 100; #47's 1e-5 then lands at toy 1e-3, on the plateau, as users found, and 2e-5 at toy
    2e-3: the plateau's best point, a decade below the cliff.
    """

    steps: int = 1000
    learning_rate: float = 2e-5
    rank: int = 4
    alpha: float = 1.0
    scales: tuple[float, ...] = (1.0,)
    batch_size: int = 1
    seed: int = 0
    gradient_checkpointing: bool = False
    side_batching: str = "separate"

    def __post_init__(self) -> None:
        self.scales = tuple(float(scale) for scale in self.scales)
        require([
            *common_checks(self),
            (len(self.scales) > 0, "scales is empty: give at least one strength, e.g. '1'"),
            (self.side_batching in SIDE_BATCHING, f"side_batching must be one of {SIDE_BATCHING}"),
        ])
        for scale in self.scales:
            if not 0 < scale <= MAX_SCALE:  # also refuses nan and inf
                raise SliderConfigError(
                    f"scales: {scale:g} is not in (0, {MAX_SCALE:g}]; every scale s trains 'before' at −s and 'after' "
                    "at +s, so give positive strengths only (swap the before/after inputs to reverse the slider)"
                )

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> PairConfig:
        return config_from_dict(cls, values)


def parse_scales(text: str) -> tuple[float, ...]:
    """'1' or '1, 2' (commas and/or spaces) → (1.0,) / (1.0, 2.0); a bad entry is named in the error."""
    entries = [entry for entry in re.split(r"[,\s]+", text.strip()) if entry]
    if not entries:
        raise SliderConfigError(f"scales {text!r} holds no numbers: give one or more positive strengths, e.g. '1' or '1, 2'")
    values = []
    for entry in entries:
        try:
            values.append(float(entry))
        except ValueError:
            raise SliderConfigError(
                f"scales: entry {entry!r} is not a number; give positive strengths separated by commas, e.g. '1, 2'"
            ) from None
    return tuple(values)


def check_pairs(before: torch.Tensor, after: torch.Tensor, latent_channels: int) -> None:
    """Model-space latent batches (N, C, H, W) that can be trained on as N pairs, or a SliderConfigError."""
    if before.dim() != 4 or after.dim() != 4:
        raise SliderConfigError(
            f"pair latents must be 4-D batches (N, C, H, W); got before {tuple(before.shape)}, after {tuple(after.shape)}"
        )
    if before.shape[0] != after.shape[0]:
        raise SliderConfigError(
            f"{before.shape[0]} 'before' and {after.shape[0]} 'after' latents: pairs are matched by index, so both "
            "sides need the same number"
        )
    if before.shape[0] == 0:
        raise SliderConfigError("no pairs: give at least one before/after pair")
    if before.shape[1:] != after.shape[1:]:
        raise SliderConfigError(
            f"'before' latents are {_size(before)} but 'after' latents are {_size(after)}: the two images of a pair "
            "must have the same size"
        )
    if before.shape[1] != latent_channels:
        raise SliderConfigError(
            f"pair latents have {before.shape[1]} channels but the model takes {latent_channels}: encode the images "
            "with this model's VAE"
        )
    height, width = before.shape[-2:]
    if height % LATENT_MULTIPLE or width % LATENT_MULTIPLE:
        raise SliderConfigError(
            f"pair latents are {width}x{height}; the UNet needs sides that are multiples of {LATENT_MULTIPLE} "
            f"(images in multiples of {PIXEL_MULTIPLE} pixels)"
        )


def _size(latents: torch.Tensor) -> str:
    return f"{latents.shape[-1]}x{latents.shape[-2]} ({latents.shape[1]} channels)"


def pair_frame(height: int, width: int, resolution: int) -> tuple[int, int]:
    """(height, width) in pixels, multiples of 64, longer side `resolution`, aspect ratio the closest to the
    images' that such a box allows (the shorter side is rounded to the nearest multiple, at least 64)."""
    if resolution < PIXEL_MULTIPLE or resolution % PIXEL_MULTIPLE:
        raise SliderConfigError(f"resolution {resolution} is not a positive multiple of {PIXEL_MULTIPLE}")
    short = min(height, width) * resolution / max(height, width)
    short = min(resolution, max(PIXEL_MULTIPLE, round(short / PIXEL_MULTIPLE) * PIXEL_MULTIPLE))
    return (resolution, short) if height >= width else (short, resolution)


def fit_images(images: torch.Tensor, frame: tuple[int, int]) -> torch.Tensor:
    """ComfyUI IMAGE (B, H, W, C) centre-cropped to the frame's aspect ratio (the largest such box), then
    resized to the frame — cropped, never squashed, so a circle stays a circle."""
    height, width = images.shape[1:3]
    target_height, target_width = frame
    if width * target_height > height * target_width:  # wider than the frame: trim the sides
        crop_height, crop_width = height, max(1, round(height * target_width / target_height))
    else:
        crop_height, crop_width = max(1, round(width * target_height / target_width)), width
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    cropped = images[:, top:top + crop_height, left:left + crop_width].movedim(-1, 1).float()
    if (crop_height, crop_width) != frame:
        cropped = F.interpolate(cropped, size=frame, mode="bilinear", antialias=True, align_corners=False)
    return cropped.clamp(0.0, 1.0).movedim(1, -1).contiguous()


class PairSampler:
    """Minibatches of pair indices, cycling through shuffled epochs so every pair is seen equally often."""

    def __init__(self, count: int, generator: torch.Generator) -> None:
        self.count = count
        self.generator = generator
        self.queue: list[int] = []

    def take(self, batch: int) -> list[int]:
        chosen = []
        while len(chosen) < batch:
            if not self.queue:
                self.queue = torch.randperm(self.count, generator=self.generator).tolist()
            chosen.append(self.queue.pop())
        return chosen


def train_pair_slider(denoiser: Denoiser, before: torch.Tensor, after: torch.Tensor, config: PairConfig,
                      module_paths: list[str], stems: dict[str, str], on_step: StepCallback | None = None,
                      checkpoint_units: list[nn.Module] | None = None,
                      prompt_ids: tuple[int, int] = (0, 1), session: TrainingSession | None = None,
                      pair_scales: torch.Tensor | None = None) -> TrainResult:
    """Train and return the adaptors (fp32 master weights) on N pairs of model-space latents (N, C, H, W).

    `prompt_ids` index the denoiser's prompts for the before and after side (c_A, c_B). `on_step` may raise
    to cancel; base weights are never written, so any exception leaves the model as it was. `session` as in
    train_text_slider. `pair_scales` (N,) fixes each pair's strength (the reference's folders made for one
    scale each) instead of drawing one of `config.scales` per step.
    """
    check_pairs(before, after, denoiser.latent_channels)
    if pair_scales is not None and tuple(pair_scales.shape) != (before.shape[0],):
        raise SliderConfigError(f"pair_scales has shape {tuple(pair_scales.shape)}; expected one scale per pair "
                                f"({before.shape[0]})")
    with training_run(denoiser, module_paths, stems, config, checkpoint_units, on_step, session) as run:
        _optimise(run, run.resume(), before, after, config, prompt_ids, pair_scales)
    return run.result()


def _optimise(run: TrainingRun, steps: range, before: torch.Tensor, after: torch.Tensor, config: PairConfig,
              prompt_ids: tuple[int, int], pair_scales: torch.Tensor | None) -> None:
    counted, slider, optimizer, generator = run.counted, run.slider, run.optimizer, run.generator
    device = counted.device
    before = before.detach().to(device)
    after = after.detach().to(device)
    sigma_table = counted.sigmas
    sampler = PairSampler(before.shape[0], generator)
    batch = config.batch_size
    prompts = [prompt_ids[0]] * batch + [prompt_ids[1]] * batch
    for step in steps:
        indices = torch.tensor(sampler.take(batch))
        scale = config.scales[int(torch.randint(len(config.scales), (1,), generator=generator))]
        level = torch.full((batch,), scale) if pair_scales is None else pair_scales[indices].float()
        sigma = sigma_table[torch.randint(len(sigma_table), (batch,), generator=generator)]
        noise = torch.randn((batch, *before.shape[1:]), generator=generator).to(device=device, dtype=before.dtype)
        sigma = sigma.to(device)
        spread = sigma.view(-1, 1, 1, 1).to(before.dtype)
        x = torch.cat([before[indices.to(device)] + spread * noise, after[indices.to(device)] + spread * noise])
        scales = torch.cat([-level, level]).to(device)
        optimizer.zero_grad(set_to_none=True)
        if config.side_batching == "joint":
            with slider.attached(counted.root, scales):
                eps = counted.eps(x, torch.cat([sigma, sigma]), prompts)
                loss = check_finite(image_pair_loss(eps[:batch], eps[batch:], noise), step, config.learning_rate)
                loss.backward()
            total = loss.item()
        else:
            total = 0.0
            for side in (slice(0, batch), slice(batch, 2 * batch)):
                with slider.attached(counted.root, scales[side]):
                    eps = counted.eps(x[side], sigma, prompts[side])
                    loss = check_finite(F.mse_loss(eps.float(), noise.float()), step, config.learning_rate)
                    loss.backward()
                total += loss.item()
        run.end_step(step, total)


def scales_text(scales: Sequence[float]) -> str:
    return ", ".join(f"{scale:g}" for scale in scales)
