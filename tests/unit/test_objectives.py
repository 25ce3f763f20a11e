"""The training objectives on hand-made tensors: signs, η, the preservation mean, same-noise pairs."""
from __future__ import annotations

import pytest
import torch

from slider_core.training import objectives


def test_direction_is_the_mean_over_preservation_concepts():
    positive = torch.tensor([[3.0, 0.0], [5.0, 2.0]])  # two concepts p, one 2-vector each
    negative = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert torch.equal(objectives.guidance_direction(positive, negative), torch.tensor([3.0, 1.0]))


@pytest.mark.parametrize(("scale", "eta", "expected"), [(1.0, 4.0, [13.0, 5.0]), (-1.0, 4.0, [-11.0, -3.0]),
                                                         (1.0, 0.0, [1.0, 1.0])])
def test_target_moves_the_anchor_by_scale_times_eta(scale, eta, expected):
    anchor = torch.tensor([1.0, 1.0])
    direction = torch.tensor([3.0, 1.0])
    assert torch.equal(objectives.guided_goal(anchor, direction, eta, scale), torch.tensor(expected))


def test_text_loss_is_zero_exactly_at_the_target():
    target = torch.randn(2, 4, 8, 8)
    assert objectives.text_slider_loss(target.clone(), target).item() == 0.0
    assert objectives.text_slider_loss(target + 1, target).item() == pytest.approx(1.0)


def test_image_pair_loss_sums_both_sides_against_their_targets():
    targets = torch.cat([torch.zeros(1, 4, 2, 2), torch.ones(1, 4, 2, 2)])
    predicted = torch.cat([torch.full((1, 4, 2, 2), 1.0), torch.full((1, 4, 2, 2), 3.0)])
    assert objectives.image_pair_loss(predicted, targets, 1).item() == pytest.approx(1.0 + 4.0)


@pytest.mark.parametrize("kind", ["positive_norm", "anchor_stats"])
def test_normalised_goal_takes_the_reference_statistics(kind):
    generator = torch.Generator().manual_seed(0)
    goal, anchor = 5 * torch.randn(2, 4, 3, 3, generator=generator), torch.randn(2, 4, 3, 3, generator=generator)
    positive = torch.randn(1, 2, 4, 3, 3, generator=generator)
    out = objectives.normalised_goal(goal, kind, anchor, positive)
    if kind == "positive_norm":
        torch.testing.assert_close(out.flatten(1).norm(dim=1), positive[0].flatten(1).norm(dim=1))
        torch.testing.assert_close(out / out.flatten(1).norm(dim=1).view(-1, 1, 1, 1),
                                   goal / goal.flatten(1).norm(dim=1).view(-1, 1, 1, 1))
    else:
        torch.testing.assert_close(out.mean(dim=(1, 2, 3)), anchor.mean(dim=(1, 2, 3)))
        torch.testing.assert_close(out.std(dim=(1, 2, 3)), anchor.std(dim=(1, 2, 3)))
    assert torch.equal(objectives.normalised_goal(goal, "none", anchor, positive), goal)
