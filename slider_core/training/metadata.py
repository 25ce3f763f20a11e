"""What a trained slider's file says about how it was made, built one way for the nodes and the CLI."""
from __future__ import annotations

import re
from collections.abc import Sequence

from ..model.slider import SliderMetadata
from ..strengths import format_strengths
from .configs import PairSliderConfig, TextSliderConfig
from .prompts import SliderPrompts

RECOMMENDED_START = 0.2  # the reference switches sliders on after ~20% of sampling, once the composition is set


def slider_title(positive: str, negative: str) -> str:
    """A file-name-safe 'negative_to_positive' title, e.g. 'a_young_person_to_an_old_person'."""
    def words(text: str) -> str:
        return re.sub(r"[^\w]+", "_", text.strip().lower()).strip("_")[:40] or "none"

    return f"{words(negative)}_to_{words(positive)}"


def text_slider_metadata(architecture: str | None, title: str, train_method: str, prompts: SliderPrompts,
                         config: TextSliderConfig, resolution: str,
                         extra: dict[str, str] | None = None) -> SliderMetadata:
    return SliderMetadata(
        architecture=architecture, title=title, train_method=train_method, target=prompts.target,
        positive=prompts.positive, negative=prompts.negative, preserve=prompts.preserve, guidance=config.eta,
        recommended_start=RECOMMENDED_START,
        extra={**(extra or {}), "steps": str(config.steps), "learning_rate": f"{config.learning_rate:g}",
               "trajectory": config.trajectory, "bidirectional": str(config.bidirectional),
               "noise_range": "{:g}-{:g}".format(*config.noise_range), "resolution": resolution},
    )


def pair_slider_metadata(architecture: str | None, title: str, train_method: str, before_prompt: str,
                         after_prompt: str, config: PairSliderConfig, strengths: Sequence[float], resolution: str,
                         extra: dict[str, str] | None = None) -> SliderMetadata:
    """`strengths`: those the pairs were trained at (the config's, or the folders' of the reference layout)."""
    return SliderMetadata(
        architecture=architecture, title=title, train_method=train_method, positive=after_prompt,
        negative=before_prompt, recommended_start=RECOMMENDED_START,
        extra={**(extra or {}), "scales": format_strengths(strengths), "steps": str(config.steps),
               "learning_rate": f"{config.learning_rate:g}", "noise_range": "{:g}-{:g}".format(*config.noise_range),
               "resolution": resolution},
    )
