"""The image-pair slider training loop (host-agnostic; the host supplies a Denoiser and model-space latents).

For a pair (x_A "before", x_B "after") noised with the same ε at the same σ (σ uniform over the model's discrete
σ table, or over its `noise_range` part), the slider at strength s is trained on the paper's visual-slider loss,
in the model's own prediction space (noise.py: for an ε model the target is ε itself, for a flow model the
velocity ε − x₀)

    L = ‖ε_θ₋ₛ(x_A,t, σ, c_A) − ε‖² + ‖ε_θ₊ₛ(x_B,t, σ, c_B) − ε‖²

What would help denoise *both* images is the same at +s and −s (even in s), while the adaptor's effect is, to
first order, s·ΔW (odd in s), so the shared content's gradients cancel between the two terms and only the
difference between the images ends up in ΔW. Sharing ε and σ makes the two inputs differ exactly by x_B − x_A.

The two sides run as two forward+backward passes with accumulated gradients by default (`side_batching`
"separate"): the gradient of one loss over both at the activation memory of one side, the reference's peak.
Each step draws one strength from `strengths`; several values flatten the slider's response over a range.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.pair_latents import check_pairs
from ..errors import SliderConfigError
from .configs import PairSliderConfig
from .denoiser import Denoiser
from .latent_sources import noise_window
from .objectives import image_pair_loss
from .previews import PreviewPrompt, Previews
from .run import StepCallback, TrainingRun, TrainResult, check_finite, training_run
from .sessions import TrainingSession


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


def train_pair_slider(denoiser: Denoiser, before: torch.Tensor, after: torch.Tensor, config: PairSliderConfig,
                      module_paths: list[str], stems: dict[str, str], on_step: StepCallback | None = None,
                      recompute_units: list[nn.Module] | None = None,
                      prompt_ids: tuple[int, int] = (0, 1), session: TrainingSession | None = None,
                      pair_strengths: torch.Tensor | None = None, rows: dict[str, int] | None = None,
                      previews: Previews | None = None) -> TrainResult:
    """Train and return the adaptors (fp32 master weights) on N pairs of model-space latents (N, C, H, W).

    `prompt_ids` index the denoiser's prompts for the before and after side (c_A, c_B). `on_step` may raise
    to cancel; base weights are never written, so any exception leaves the model as it was. `session` as in
    train_text_slider. `pair_strengths` (N,) fixes each pair's strength (the reference's folders made for one
    strength each) instead of drawing one of `config.strengths` per step. `previews` samples the 'after' prompt
    at the pairs' size without CFG: the pair objective trains conditional predictions only, so there is no
    unconditional prompt to guide against.
    """
    check_pairs(before, after, denoiser.latent_shape, denoiser.latent_multiple)
    if pair_strengths is not None and tuple(pair_strengths.shape) != (before.shape[0],):
        raise SliderConfigError(f"pair_strengths has shape {tuple(pair_strengths.shape)}; expected one strength per pair "
                                f"({before.shape[0]})")
    with training_run(denoiser, module_paths, stems, config, recompute_units, on_step, session, rows) as run:
        if previews is not None:
            prompt = PreviewPrompt(prompt_ids[1], prompt_ids[1], 1.0, tuple(before.shape[1:]))
            run.preview = previews.hook(denoiser, prompt, config.seed)
        _optimise(run, run.resume(), before, after, config, prompt_ids, pair_strengths)
    return run.result()


def _optimise(run: TrainingRun, steps: range, before: torch.Tensor, after: torch.Tensor, config: PairSliderConfig,
              prompt_ids: tuple[int, int], pair_strengths: torch.Tensor | None) -> None:
    counted, slider, optimizer, generator = run.counted, run.slider, run.optimizer, run.generator
    device = counted.device
    before = before.detach().to(device)
    after = after.detach().to(device)
    schedule = counted.schedule
    sigma_table = schedule.sigmas
    window = noise_window(len(sigma_table), config.noise_range)
    sampler = PairSampler(before.shape[0], generator)
    batch = config.batch_size
    prompts = [prompt_ids[0]] * batch + [prompt_ids[1]] * batch
    for step in steps:
        indices = torch.tensor(sampler.take(batch))
        drawn = config.strengths[int(torch.randint(len(config.strengths), (1,), generator=generator))]
        level = torch.full((batch,), drawn) if pair_strengths is None else pair_strengths[indices].float()
        sigma = sigma_table[torch.randint(window.start, window.stop, (batch,), generator=generator)]
        noise = torch.randn((batch, *before.shape[1:]), generator=generator).to(device=device, dtype=before.dtype)
        sigma = sigma.to(device)
        clean = torch.cat([before[indices.to(device)], after[indices.to(device)]])
        both_sigma, both_noise = torch.cat([sigma, sigma]), torch.cat([noise, noise])
        x = schedule.noised(clean, both_noise, both_sigma)
        targets = schedule.target(clean, both_noise, both_sigma)
        strengths = torch.cat([-level, level]).to(device)
        optimizer.zero_grad(set_to_none=True)
        if config.side_batching == "joint":
            with slider.attached(counted.root, strengths):
                predicted = counted.predict(x, both_sigma, prompts)
                loss = check_finite(image_pair_loss(predicted, targets, batch), step, config.learning_rate)
                loss.backward()
            total = loss.item()
        else:
            total = 0.0
            for side in (slice(0, batch), slice(batch, 2 * batch)):
                with slider.attached(counted.root, strengths[side]):
                    predicted = counted.predict(x[side], sigma, prompts[side])
                    loss = check_finite(F.mse_loss(predicted.float(), targets[side].float()), step,
                                        config.learning_rate)
                    loss.backward()
                total += loss.item()
        run.end_step(step, total)
