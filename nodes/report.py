"""Slider Report: a slider measured on the user's own model, its range calibrated and written into its metadata."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ..slider_core.adaptors.branches import StrengthBatchedBranches
from ..slider_core.charts.report_chart import report_chart
from ..slider_core.errors import SliderConfigError
from ..slider_core.model.architectures import require_trainable
from ..slider_core.model.slider import Slider
from ..slider_core.report.measure import (
    DEFAULT_SEEDS,
    DEFAULT_STEPS,
    DEFAULT_STRENGTHS,
    MAX_SEEDS,
    MAX_STEPS,
    ReportConfig,
    ReportPrompts,
    SweepMeasurement,
    batches_per_report,
    measure_sweep,
)
from ..slider_core.report.verdicts import judge
from ..slider_core.strengths import format_strengths, parse_strengths
from ..slider_core.training.configs import TextSliderConfig
from ..slider_core.training.prompts import SliderPrompts
from .host import conditioning, models, patching, previews, sampling
from .host.conditioning import Conditioning
from .host.denoiser import ComfyDenoiser
from .input_checks import check_numbers
from .prompt_inputs import single_prompt
from .types import CATEGORY, SEED_MAX, SLIDER_TYPE

DEFAULT_CFG = TextSliderConfig().trajectory_cfg
PAIR_SEPARATOR = "|"


def _text(tip: str, multiline: bool = False) -> tuple[str, dict[str, Any]]:
    return ("STRING", {"default": "", "multiline": multiline, "dynamicPrompts": False, "tooltip": tip})


class SliderReport:
    NODE_ID = "ConceptSlidersReport"
    DISPLAY_NAME = "Slider Report"
    DESCRIPTION = (
        "Measures what a slider does on this model, with no external classifier: it samples the prompt at each "
        "strength for several seeds and lets the base model judge every image (how much better it predicts the "
        "noise under the slider's positive prompt than under its negative one). Charts that score against the "
        "strength with its seed spread, checks preservation pairs stay flat, calibrates the usable strength range "
        "(written into the slider's metadata for Save Concept Slider), and gives verdicts: no effect, saturation, "
        "leaks into a preserved attribute."
    )
    CATEGORY = CATEGORY
    FUNCTION = "report"
    RETURN_TYPES = ("IMAGE", "STRING", SLIDER_TYPE)
    RETURN_NAMES = ("chart", "verdict", "slider")
    OUTPUT_TOOLTIPS = (
        "The first seed's images at each strength over a plot of the efficacy score (seed spreads from strength "
        "0, with a band of one standard deviation across seeds), each preservation pair's score, the calibrated "
        "range shaded, and the verdicts.",
        "The verdicts and figures as text: usable range, saturation or leaks with what to do, efficacy rho and "
        "change, locality per pair, the forwards the report cost.",
        "The slider with the calibrated range as its strength_range metadata (unchanged when write_range is off "
        "or nothing could be calibrated).",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "model": ("MODEL", {"tooltip": "The model to measure the slider on (other sliders applied with "
                                               "Slider Strength stay on at their strengths)."}),
                "slider": (SLIDER_TYPE, {"tooltip": "The slider to measure, from Load Concept Slider or a training "
                                                    "node."}),
                "strengths": ("STRING", {"default": format_strengths(DEFAULT_STRENGTHS),
                                         "tooltip": "Strengths to probe, including 0 (the anchor every image is "
                                                    "compared with), commas or spaces between them."}),
                "seeds": ("INT", {"default": DEFAULT_SEEDS, "min": 2, "max": MAX_SEEDS,
                                  "tooltip": "Seeds per strength: their spread at strength 0 is the unit effects "
                                             "are measured in. More seeds, steadier figures."}),
                "seed": ("INT", {"default": 0, "min": 0, "max": SEED_MAX,
                                 "tooltip": "First seed (seed, seed+1, ...); the same seeds give the same report."}),
                "steps": ("INT", {"default": DEFAULT_STEPS, "min": 1, "max": MAX_STEPS,
                                  "tooltip": "Euler sampling steps per image."}),
                "cfg": ("FLOAT", {"default": DEFAULT_CFG, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01,
                                  "tooltip": "Classifier-free guidance while sampling; guidance-distilled families "
                                             "(FLUX.1) sample at 1, as their graphs do."}),
                "resolution": ("INT", {"default": 0, "min": 0, "max": 4096, "step": 64,
                                       "tooltip": "Image side in pixels; 0 = the model's own (512 SD1.x, 1024 SDXL)."}),
                "write_range": ("BOOLEAN", {"default": True,
                                            "tooltip": "Write the calibrated range into the slider output's "
                                                       "metadata (shown by Load Concept Slider, saved by Save "
                                                       "Concept Slider)."}),
            },
            "optional": {
                "clip": ("CLIP", {"tooltip": "The model's text encoder, for the text prompts."}),
                "vae": ("VAE", {"tooltip": "Decodes the chart's images; without it they are the host's latent "
                                           "previews."}),
                "prompt": _text("What to generate; empty = the slider's target prompt (its metadata)."),
                "positive": _text("The prompt positive strengths should move towards; empty = the slider's own "
                                  "positive prompts as it was trained (with each preservation concept, averaged)."),
                "negative": _text("The prompt negative strengths should move towards; empty = the slider's own."),
                "preserve": _text("Preservation pairs that should not move, one per line as 'a | b' (e.g. 'a man | "
                                  "a woman'): each gets a locality score.", multiline=True),
                "prompt_conditioning": ("CONDITIONING", {"tooltip": "Instead of the prompt text: what to generate, "
                                                                    "from the family's encoder node."}),
                "positive_conditioning": ("CONDITIONING", {"tooltip": "Instead of the positive text (entries "
                                                                      "averaged, paired with negative's)."}),
                "negative_conditioning": ("CONDITIONING", {"tooltip": "Pairs with positive_conditioning entry by "
                                                                      "entry."}),
            },
        }

    def report(self, model: Any, slider: Slider, strengths: str, seeds: int, seed: int, steps: int, cfg: float,
               resolution: int, write_range: bool, clip: Any = None, vae: Any = None, prompt: str = "",
               positive: str = "", negative: str = "", preserve: str = "", prompt_conditioning: Any = None,
               positive_conditioning: Any = None,
               negative_conditioning: Any = None) -> tuple[torch.Tensor, str, Slider]:
        check_numbers(SliderReport, seeds=seeds, seed=seed, steps=steps, cfg=cfg, resolution=resolution)
        config = ReportConfig(strengths=tuple(parse_strengths(strengths, "report strengths", "-2, -1, 0, 1, 2")),
                              seeds=seeds, seed=seed, steps=steps, cfg=cfg)
        conditionings, prompts = report_prompts(slider, clip, prompt, positive, negative, preserve,
                                                 prompt_conditioning, positive_conditioning, negative_conditioning)
        measured, config = measure(model, slider, conditionings, prompts, config, resolution)
        verdict = judge(measured)
        lines = [*verdict.messages, f"cost: {measured.forwards} forwards ({len(config.strengths)} strengths x "
                                    f"{config.seeds} seeds, {config.steps} steps, {len(prompts.scored)} scored prompts)"]
        images = _pictures(model, vae, measured.latents[:, 0])
        chart = report_chart(images, measured.strengths, measured.efficacy, verdict.spread, measured.locality,
                             verdict.strength_range, lines, f"Slider Report: {slider.name}")
        calibrated = verdict.strength_range
        out = slider
        if write_range and calibrated is not None:
            out = Slider(deltas=slider.deltas, metadata=slider.metadata.replace(strength_range=calibrated),
                         name=slider.name)
        return chart, "\n".join(lines), out


def measure(model: Any, slider: Slider, conditionings: list[Conditioning], prompts: ReportPrompts,
            config: ReportConfig, resolution: int) -> tuple[SweepMeasurement, ReportConfig]:
    """The sweep measured on the model, and the configuration it ran with (guidance-distilled families sample at
    CFG 1, as their graphs do)."""
    architecture = require_trainable(models.model_architecture(model), models.model_label(model))
    if architecture.distilled_guidance:
        config = dataclasses.replace(config, cfg=1.0)
    fitted, keys = patching.match_slider_to_model(slider, model)
    side = models.training_resolution(model, resolution) // models.latent_downscale(model)
    denoiser = ComfyDenoiser(model, conditionings, (side, side))
    branches = StrengthBatchedBranches(fitted, {stem: key[: -len(".weight")] for stem, key in keys.items()})
    progress = sampling.progress_bar(batches_per_report(config, prompts))

    def advance() -> None:
        progress.update(1)
        sampling.raise_if_cancelled()

    return measure_sweep(denoiser, branches, prompts, config, denoiser.latent_shape(side, side), advance), config


def report_prompts(slider: Slider, clip: Any, prompt: str, positive: str, negative: str, preserve: str,
                    prompt_conditioning: Any, positive_conditioning: Any,
                    negative_conditioning: Any) -> tuple[list[Conditioning], ReportPrompts]:
    """The conditionings in ReportPrompts' order: generate, unconditional, the efficacy pairs, the locality pairs."""
    meta = slider.metadata

    def encode(text: str, what: str) -> Conditioning:
        if clip is None:
            raise SliderConfigError(f"Slider Report: {what} is given as text but no CLIP is connected; connect the "
                                    f"model's CLIP, or give {what} as CONDITIONING")
        return conditioning.text_conditioning(clip, text)

    if prompt_conditioning is not None:
        generate = single_prompt(prompt_conditioning, "prompt_conditioning")
    else:
        text = prompt.strip() or meta.target
        if not text:
            raise SliderConfigError(f"Slider Report: slider '{slider.name}' names no target prompt in its metadata; "
                                    "type the prompt to generate")
        generate = encode(text, "the prompt")
    uncond = encode("", "the unconditional prompt") if clip is not None else conditioning.zeroed(generate)
    if (positive_conditioning is None) != (negative_conditioning is None):
        raise SliderConfigError("Slider Report: connect both positive_conditioning and negative_conditioning, or "
                                "neither")
    if positive_conditioning is not None:
        highs = conditioning.single_entries(positive_conditioning, "positive_conditioning")
        lows = conditioning.single_entries(negative_conditioning, "negative_conditioning")
        if len(highs) != len(lows):
            raise SliderConfigError(f"Slider Report: positive_conditioning has {len(highs)} entries and "
                                    f"negative_conditioning {len(lows)}; pair them up")
    else:
        lows, highs = _efficacy_texts(slider, positive.strip(), negative.strip())
        lows = [encode(text, "the negative prompt") for text in lows]
        highs = [encode(text, "the positive prompt") for text in highs]
    pairs = _preservation_pairs(preserve)
    conditionings = [generate, uncond, *lows, *highs]
    efficacy = tuple((2 + index, 2 + len(lows) + index) for index in range(len(lows)))
    locality: dict[str, tuple[int, int]] = {}
    for label, (first, second) in pairs.items():
        locality[label] = (len(conditionings), len(conditionings) + 1)
        conditionings += [encode(first, f"preservation pair '{label}'"), encode(second, f"preservation pair "
                                                                                         f"'{label}'")]
    return conditionings, ReportPrompts(generate=0, uncond=1, efficacy=efficacy, locality=locality)


def _efficacy_texts(slider: Slider, positive: str, negative: str) -> tuple[list[str], list[str]]:
    """(negatives, positives): the given pair, or the slider's own prompts as its training joined them with each
    preservation concept."""
    if positive or negative:
        if not (positive and negative):
            raise SliderConfigError("Slider Report: give both positive and negative, or leave both empty to use the "
                                    "slider's own prompts")
        return [negative], [positive]
    meta = slider.metadata
    if not meta.positive or not meta.negative or meta.positive == meta.negative:
        raise SliderConfigError(f"Slider Report: slider '{slider.name}' does not say which prompts it moves between "
                                "(its metadata has no positive/negative); type them into positive and negative")
    prompts = SliderPrompts(target=meta.target or meta.positive, positive=meta.positive, negative=meta.negative,
                            preserve=meta.preserve)
    texts, layout = prompts.texts(), prompts.layout
    return ([texts[index] for index in layout.negatives()], [texts[index] for index in layout.positives()])


def _preservation_pairs(text: str) -> dict[str, tuple[str, str]]:
    pairs = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(PAIR_SEPARATOR)]
        if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
            raise SliderConfigError(f"Slider Report: preserve line {number} ({line.strip()!r}) is not a pair of two "
                                    f"different prompts; write it as 'a man {PAIR_SEPARATOR} a woman'")
        pairs[f"{parts[0]} {PAIR_SEPARATOR} {parts[1]}"] = (parts[0], parts[1])
    return pairs


def _pictures(model: Any, vae: Any, latents: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) pictures of model-space latents: the VAE's decode, or the host's latent previews."""
    if vae is None:
        return previews.latent_decoder(model)(latents)
    return vae.decode(model.model.process_latent_out(latents.to(model.load_device))).float().cpu()[..., :3]
