"""The prompt vocabulary of a text slider, ours and the reference implementation's.

Ours: target c_t (what the slider acts on), positive c₊, negative c₋, preservation concepts P, and an optional
anchor (the prompt whose frozen prediction the target is built on; defaults to the target).

The reference's prompts YAML maps onto it as follows (see README):
    target → target         positive → positive       unconditional → negative
    neutral → anchor        action: enhance → +1, erase → −1 (flips the direction)
    guidance_scale → η      attributes (--attributes) → preserve
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..choices import check_choice, check_keys
from ..errors import SliderConfigError

# The keys of one entry of the reference's prompts YAML (its last four are per-run settings, not prompts).
REFERENCE_PROMPT_KEYS = {"target", "positive", "unconditional", "neutral", "action", "guidance_scale", "resolution",
                         "dynamic_resolution", "batch_size", "dynamic_crops"}


@dataclass(frozen=True)
class PromptLayout:
    """Where a text slider's conditionings sit in a denoiser's prompt list, whoever encoded them: target, anchor,
    the positives p + c₊ over the P preservation concepts, the negatives p + c₋, then the unconditional prompt.
    `sign` −1 swaps the direction (the reference's `erase`)."""

    concept_count: int
    sign: float = 1.0

    @property
    def width(self) -> int:
        return 3 + 2 * self.concept_count

    def target(self, offset: int = 0) -> int:
        return offset

    def anchor(self, offset: int = 0) -> int:
        return offset + 1

    def positives(self, offset: int = 0) -> list[int]:
        return list(range(offset + 2, offset + 2 + self.concept_count))

    def negatives(self, offset: int = 0) -> list[int]:
        return list(range(offset + 2 + self.concept_count, offset + 2 + 2 * self.concept_count))

    def unconditional(self, offset: int = 0) -> int:
        return offset + 2 + 2 * self.concept_count


@dataclass
class SliderPrompts:
    target: str
    positive: str
    negative: str
    preserve: list[str] = field(default_factory=list)
    anchor: str | None = None
    erase: bool = False

    def __post_init__(self) -> None:
        if not self.target.strip():
            raise SliderConfigError("the target prompt is empty: name what the slider acts on, e.g. 'a person'")
        if self.positive.strip() == self.negative.strip():
            raise SliderConfigError(
                f"positive and negative prompts are identical ({self.positive!r}): the slider would have no direction"
            )
        self.preserve = [concept.strip() for concept in self.preserve if concept.strip()]

    @property
    def sign(self) -> float:
        return -1.0 if self.erase else 1.0

    @property
    def layout(self) -> PromptLayout:
        return PromptLayout(self.concept_count, self.sign)

    def texts(self) -> list[str]:
        """All prompts the loop evaluates, in PromptLayout's order: target, anchor, positives, negatives, ""."""
        concepts = self.preserve or [""]
        return [
            self.target,
            self.anchor if self.anchor is not None else self.target,
            *(_join(concept, self.positive) for concept in concepts),
            *(_join(concept, self.negative) for concept in concepts),
            "",
        ]

    @property
    def concept_count(self) -> int:
        return max(1, len(self.preserve))

    @classmethod
    def from_reference(cls, entry: dict[str, object], attributes: list[str] | None = None) -> SliderPrompts:
        """One entry of the reference's prompts YAML. Unknown keys are errors (the reference ignores them,
        so a misspelt `guidance:` silently trains with η = 1)."""
        check_keys(entry, REFERENCE_PROMPT_KEYS, "prompt entry")
        if "target" not in entry:
            raise SliderConfigError("prompt entry has no 'target'")
        target = str(entry["target"])
        unconditional = str(entry.get("unconditional", ""))
        action = check_choice("action", str(entry.get("action", "erase")), ("erase", "enhance"))
        return cls(target=target, positive=str(entry.get("positive", target)), negative=unconditional,
                   preserve=list(attributes or []), anchor=str(entry.get("neutral", unconditional)),
                   erase=action == "erase")


def _join(concept: str, prompt: str) -> str:
    """`p + c`: the concept prepended, as the reference does; a `{}` in the concept marks where the prompt goes
    instead ("{} on the left", "{}, wearing glasses"), for concepts that read naturally after it."""
    if "{}" in concept:
        return concept.replace("{}", prompt).strip()
    return f"{concept} {prompt}".strip()
