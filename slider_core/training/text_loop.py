"""The ε-guided text slider training loop (host-agnostic; the host supplies a Denoiser).

Per iteration, at x_t from the configured source (predictions in the model's own space, training/noise.py):
  no-grad forwards (two prompts each) for the anchor and every p + c₊, p + c₋   (1 + 2|P| samples per x_t)
  a forward+backward of the slid model on c_t at strength +1 (bidirectional: +1 and −1 on alternate iterations)
versus the reference's ~50 CFG forwards of rollout plus four batch-2 predictions. See latent_sources.py.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import SliderConfigError
from .configs import TextSliderConfig
from .denoiser import CountingDenoiser, Denoiser
from .latent_sources import LatentSource
from .objectives import guidance_direction, guided_goal, normalised_goal, text_slider_loss
from .previews import PreviewPrompt, Previews
from .prompts import PromptLayout, SliderPrompts
from .run import StepCallback, TrainingRun, TrainResult, check_finite, training_run
from .sessions import TrainingSession

PromptSets = SliderPrompts | PromptLayout | Sequence[SliderPrompts | PromptLayout]


def train_text_slider(denoiser: Denoiser, prompts: PromptSets, config: TextSliderConfig,
                      module_paths: list[str], stems: dict[str, str], on_step: StepCallback | None = None,
                      recompute_units: list[nn.Module] | None = None,
                      session: TrainingSession | None = None, rows: dict[str, int] | None = None,
                      previews: Previews | None = None) -> TrainResult:
    """Train and return the adaptors (fp32 master weights). `on_step` may raise to cancel: nothing of the
    base model is modified, so an exception anywhere leaves it as it was. `recompute_units` are the
    submodules recomputed in backward when gradient checkpointing is on. `session` (resume, checkpoints,
    data parallelism) sees the run's state before the first step and after each one. `previews` samples the
    (first set's) target at the latents' size, with the CFG the latents are generated with.

    The denoiser holds each set's conditionings in PromptLayout order (`entry_texts` gives the texts to encode).
    Several sets (the reference's prompts YAML with several entries) are one slider trained on a set drawn per
    step, as the reference does. The latent source generates from the target of the set drawn when it refreshes."""
    entries = _layouts(prompts)
    check_entries(entries)
    shape = (config.batch_size, *denoiser.latent_shape(*config.latent_size))
    uncond = entries[0].unconditional()
    with training_run(denoiser, module_paths, stems, config, recompute_units, on_step, session, rows) as run:
        if previews is not None:
            prompt = PreviewPrompt(entries[0].target(), uncond, config.trajectory_cfg, shape[1:])
            run.preview = previews.hook(denoiser, prompt, config.seed)
        source = LatentSource(config.trajectory, shape, denoiser.schedule, 0, uncond, config.trajectory_steps,
                              config.trajectory_cfg, config.refresh_every, run.generator, denoiser.device,
                              config.noise_range)
        # resumed after the source has taken its seed: a renoise run with refresh_every 1 repeats the original exactly
        _optimise(run, run.resume(), source, entries, config)
    return run.result()


def _layouts(prompts: PromptSets) -> list[PromptLayout]:
    entries = [prompts] if isinstance(prompts, (SliderPrompts, PromptLayout)) else list(prompts)
    return [entry.layout if isinstance(entry, SliderPrompts) else entry for entry in entries]


def _optimise(run: TrainingRun, steps: range, source: LatentSource, entries: list[PromptLayout],
              config: TextSliderConfig) -> None:
    counted, slider, optimizer, generator = run.counted, run.slider, run.optimizer, run.generator
    width = entries[0].width
    batch = config.batch_size
    root = counted.root

    def slid_prediction(x: torch.Tensor, sigma: torch.Tensor, ids: list[int]) -> torch.Tensor:
        with slider.attached(root, torch.ones(x.shape[0], device=x.device)):
            return counted.predict(x, sigma, ids)

    for step in steps:
        # one set per step; a single set draws nothing, so its random stream is that of a one-set run
        drawn = int(torch.randint(len(entries), (1,), generator=generator)) if len(entries) > 1 else 0
        layout, offset = entries[drawn], drawn * width
        target, anchor, uncond = layout.target(offset), layout.anchor(offset), layout.unconditional(offset)
        positives, negatives = layout.positives(offset), layout.negatives(offset)
        source.target, source.uncond = target, uncond
        with torch.no_grad():
            x_t, sigma = source.sample(slid_prediction if config.trajectory == "rollout" else counted.predict)
            eps_anchor, eps_positive, eps_negative = _frozen_predictions(
                counted, x_t, sigma, anchor, positives, negatives, uncond, config.frozen_batching)
            direction = entries[drawn].sign * guidance_direction(eps_positive, eps_negative)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        strengths = _strengths_at(step, config)
        for strength in strengths:
            # One backward per side: a batch of both sides would hold both sides' activations at once.
            goal = normalised_goal(guided_goal(eps_anchor, direction, config.eta, strength),
                                   config.goal_normalisation, eps_anchor, eps_positive)
            with slider.attached(root, torch.full((batch,), strength, device=counted.device)):
                loss = text_slider_loss(counted.predict(x_t, sigma, [target] * batch), goal) / len(strengths)
                check_finite(loss, step, config.learning_rate).backward()
            total += loss.item()
        run.end_step(step, total)


def entry_texts(entries: Sequence[SliderPrompts]) -> list[str]:
    """The texts a denoiser must hold for these prompt sets, set after set (ids offset by set)."""
    return [text for entry in entries for text in entry.texts()]


def check_entries(entries: Sequence[PromptLayout]) -> None:
    if not entries:
        raise SliderConfigError("no prompts: give at least one target/positive/negative set")
    counts = {entry.concept_count for entry in entries}
    if len(counts) > 1:
        raise SliderConfigError(
            f"prompt sets have different numbers of preservation concepts ({sorted(counts)}): give every set the same"
        )


def _strengths_at(step: int, config: TextSliderConfig) -> list[float]:
    """The slider strengths trained at `step` (see configs.DIRECTION_SCHEDULES)."""
    if not config.bidirectional:
        return [1.0]
    if config.direction_schedule == "accumulate":
        return [1.0, -1.0]
    return [1.0 if step % 2 == 0 else -1.0]


def _frozen_predictions(denoiser: CountingDenoiser, x_t: torch.Tensor, sigma: torch.Tensor, anchor: int,
                        positives: list[int], negatives: list[int], uncond: int,
                        batching: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The frozen predictions for the anchor, p + c₊ and p + c₋ (stacked over p). `batched`: two prompts per
    forward. `reference`: as the reference does it, one CFG-style batch-2 forward per prediction with the
    unconditional half discarded
    (kept only as the baseline the benchmark measures against)."""
    batch = x_t.shape[0]
    ids = [anchor, *positives, *negatives]
    if batching == "batched":
        # At most two prompts per forward: the reference's CFG-pair batch size, so the frozen passes never raise
        # peak memory above it however many preservation concepts there are; nothing is thrown away.
        chunks = []
        for first in range(0, len(ids), 2):
            group = ids[first:first + 2]
            repeats = (len(group), *([1] * (x_t.dim() - 1)))
            predicted = denoiser.predict(x_t.repeat(repeats), sigma.repeat(len(group)),
                                         [i for i in group for _ in range(batch)])
            chunks.extend(predicted.split(batch))
    else:
        chunks = []
        for prompt in ids:
            pair = denoiser.predict(torch.cat([x_t, x_t]), torch.cat([sigma, sigma]),
                                    [prompt] * batch + [uncond] * batch)
            chunks.append(pair[:batch])
    count = len(positives)
    return chunks[0], torch.stack(chunks[1:1 + count]), torch.stack(chunks[1 + count:])
