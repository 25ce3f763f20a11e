"""The training objectives on hand-made tensors: signs, η, the preservation mean, same-noise pairs."""
from __future__ import annotations

import importlib

import pytest
import torch
from host import PACK_NAME

objectives = importlib.import_module(f"{PACK_NAME}.slider_core.objectives")
prompts = importlib.import_module(f"{PACK_NAME}.slider_core.prompts")
errors = importlib.import_module(f"{PACK_NAME}.slider_core.errors")


def test_direction_is_the_mean_over_preservation_concepts():
    positive = torch.tensor([[3.0, 0.0], [5.0, 2.0]])  # two concepts p, one 2-vector each
    negative = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert torch.equal(objectives.guidance_direction(positive, negative), torch.tensor([3.0, 1.0]))


@pytest.mark.parametrize(("scale", "eta", "expected"), [(1.0, 4.0, [13.0, 5.0]), (-1.0, 4.0, [-11.0, -3.0]),
                                                         (1.0, 0.0, [1.0, 1.0])])
def test_target_moves_the_anchor_by_scale_times_eta(scale, eta, expected):
    anchor = torch.tensor([1.0, 1.0])
    direction = torch.tensor([3.0, 1.0])
    assert torch.equal(objectives.guided_target(anchor, direction, eta, scale), torch.tensor(expected))


def test_text_loss_is_zero_exactly_at_the_target():
    target = torch.randn(2, 4, 8, 8)
    assert objectives.text_slider_loss(target.clone(), target).item() == 0.0
    assert objectives.text_slider_loss(target + 1, target).item() == pytest.approx(1.0)


def test_image_pair_loss_sums_both_sides_against_the_same_noise():
    noise = torch.zeros(1, 4, 2, 2)
    before, after = torch.full_like(noise, 1.0), torch.full_like(noise, 2.0)
    assert objectives.image_pair_loss(before, after, noise).item() == pytest.approx(1.0 + 4.0)


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


evaluation = importlib.import_module(f"{PACK_NAME}.slider_core.evaluation")


def test_spearman_matches_known_values():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    assert evaluation.spearman(x, x ** 3) == pytest.approx(1.0)
    assert evaluation.spearman(x, -x) == pytest.approx(-1.0)
    assert evaluation.spearman(x, torch.tensor([2.0, 1.0, 4.0, 3.0, 5.0])) == pytest.approx(0.8)
    assert evaluation.spearman(x, torch.tensor([1.0, 1.0, 2.0, 2.0, 3.0])) == pytest.approx(0.9486833)


def test_sweep_effect_measures_change_in_units_of_natural_spread():
    strengths = [-2.0, -1.0, 0.0, 1.0, 2.0]
    seeds = torch.tensor([0.0, 1.0, 2.0, 3.0])  # natural spread: std of 0..3
    values = torch.stack([seeds + 0.5 * s for s in strengths])
    effect = evaluation.sweep_effect(strengths, values)
    assert effect.rho == pytest.approx(1.0) and effect.change == pytest.approx(2.0)
    assert effect.effect == pytest.approx(2.0 / seeds.std().item())
