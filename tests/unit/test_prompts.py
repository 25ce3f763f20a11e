"""The prompt vocabulary: ours, the reference's YAML entries, and where preservation concepts put the prompt."""
from __future__ import annotations

import pytest

from slider_core import errors
from slider_core.training import prompts


def test_reference_prompt_entries_map_onto_ours():
    entry = {"target": "male person", "positive": "male person, very old", "unconditional": "male person, very young",
             "neutral": "male person", "action": "enhance", "guidance_scale": 4}
    mapped = prompts.SliderPrompts.from_reference(entry, attributes=["white", "black"])
    assert (mapped.target, mapped.positive, mapped.negative, mapped.anchor) == (
        "male person", "male person, very old", "male person, very young", "male person")
    assert mapped.sign == 1.0 and mapped.preserve == ["white", "black"]
    assert mapped.texts()[2:4] == ["white male person, very old", "black male person, very old"]
    assert prompts.SliderPrompts.from_reference({**entry, "action": "erase"}).sign == -1.0


def test_preservation_concept_placeholder_puts_the_prompt_inside():
    spec = prompts.SliderPrompts("a blob", "a large blob", "a small blob", ["{} on the left", "red"])
    assert spec.texts()[2:6] == ["a large blob on the left", "red a large blob", "a small blob on the left",
                                 "red a small blob"]


def test_misspelt_reference_key_is_an_error_not_eta_one():
    with pytest.raises(errors.SliderConfigError, match="guidance"):
        prompts.SliderPrompts.from_reference({"target": "a person", "guidance": 4})


@pytest.mark.parametrize(("fields", "message"), [
    ({"target": " ", "positive": "a", "negative": "b"}, "target prompt is empty"),
    ({"target": "t", "positive": "same", "negative": "same"}, "identical"),
])
def test_prompt_sets_without_a_direction_are_refused(fields, message):
    with pytest.raises(errors.SliderConfigError, match=message):
        prompts.SliderPrompts(**fields)
