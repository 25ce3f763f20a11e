"""A text slider's prompts from whichever the graph has: text with its CLIP (preservation concepts joined to the
prompts by text), or CONDITIONING from the family's own encoder nodes (preservation concepts as the entries of a
combined conditioning, matched by index between positive and negative)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..slider_core.errors import SliderConfigError
from ..slider_core.training.prompts import PromptLayout, SliderPrompts
from .host import conditioning
from .host.conditioning import Conditioning


@dataclass
class SliderConditionings:
    layout: PromptLayout
    conditionings: list[Conditioning]
    """In the layout's order: target, anchor, positives, negatives, unconditional."""
    described: SliderPrompts
    """What the slider's file says it was trained on."""


def slider_conditionings(clip: Any, prompts: SliderPrompts, target: Any = None, positive: Any = None,
                         negative: Any = None, unconditional: Any = None) -> SliderConditionings:
    """Text roles are encoded with `clip`; any role given as CONDITIONING replaces its text."""
    given = {"target_conditioning": target, "positive_conditioning": positive, "negative_conditioning": negative}
    if clip is None and any(value is None for value in given.values()):
        missing = [name for name, value in given.items() if value is None]
        raise SliderConfigError(f"no CLIP is connected, so {', '.join(missing)} must be: either connect the model's "
                                "CLIP (the prompts are then encoded from the text inputs) or all three conditionings")
    if (positive is None) != (negative is None):
        raise SliderConfigError("connect both positive_conditioning and negative_conditioning, or neither: the slider "
                                "learns the difference between them")

    def encode(text: str) -> Conditioning:
        return conditioning.text_conditioning(clip, text)

    texts = prompts.texts()
    layout = prompts.layout
    if positive is not None:
        positives = conditioning.single_entries(positive, "positive_conditioning")
        negatives = conditioning.single_entries(negative, "negative_conditioning")
        if len(positives) != len(negatives):
            raise SliderConfigError(
                f"positive_conditioning has {len(positives)} entries and negative_conditioning {len(negatives)}: "
                "each entry is one preservation concept, so pair them up (Conditioning Combine the same concepts in "
                "the same order on both sides)")
        layout = PromptLayout(len(positives), prompts.sign)
    else:
        positives = [encode(text) for text in texts[layout.positives()[0]:layout.negatives()[0]]]
        negatives = [encode(text) for text in texts[layout.negatives()[0]:layout.unconditional()]]
    target_cond = single_prompt(target, "target_conditioning") if target is not None else encode(prompts.target)
    anchor = encode(texts[1]) if clip is not None and prompts.anchor is not None else target_cond
    if unconditional is not None:
        uncond = single_prompt(unconditional, "unconditional_conditioning")
    else:
        uncond = encode("") if clip is not None else conditioning.zeroed(target_cond)
    described = prompts if clip is not None and target is None and positive is None else SliderPrompts(
        target=prompts.target if target is None else "(conditioning)",
        positive=prompts.positive if positive is None else "(positive conditioning)",
        negative=prompts.negative if negative is None else "(negative conditioning)",
        preserve=prompts.preserve if positive is None else [], anchor=prompts.anchor, erase=prompts.erase)
    return SliderConditionings(layout, [target_cond, anchor, *positives, *negatives, uncond], described)


def single_prompt(value: Any, name: str) -> Conditioning:
    """A CONDITIONING that must hold one prompt, as a single-entry conditioning."""
    entries = conditioning.single_entries(value, name)
    if len(entries) != 1:
        raise SliderConfigError(f"'{name}' has {len(entries)} entries; give one (it is a single prompt)")
    return entries[0]
