"""Judging sliders from measured sweeps: rank correlation and effects in units of natural variation."""
from __future__ import annotations

import pytest
import torch

from slider_core import evaluation


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
