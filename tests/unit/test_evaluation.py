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


def test_pooled_rho_counts_the_seeds_where_a_slider_fails():
    """Three seeds follow the strength, one goes the other way: the per-seed median still says 1, pooled does not."""
    strengths = [-2.0, -1.0, 0.0, 1.0, 2.0]
    offsets = torch.tensor([0.0, 0.1, 0.2, 0.3])
    values = torch.stack([offsets + 0.05 * s * torch.tensor([1.0, 1.0, 1.0, -1.0]) for s in strengths])
    effect = evaluation.sweep_effect(strengths, values)
    assert effect.rho == pytest.approx(1.0)
    assert effect.pooled_rho < 0.5


def test_deviation_counts_an_attribute_that_moves_the_same_way_at_both_ends():
    """A colour that shifts at −2 and at +2 alike has no end-to-end change, yet it moved: the deviation sees it."""
    strengths = [-2.0, -1.0, 0.0, 1.0, 2.0]
    seeds = torch.tensor([0.0, 1.0, 2.0, 3.0])
    target = torch.stack([seeds + s for s in strengths])
    colour = torch.stack([seeds + abs(s) for s in strengths])
    effects = evaluation.sweep_effects(strengths, {"size": target, "red": colour})
    assert effects["red"].change == pytest.approx(0.0)
    assert evaluation.leak(effects, "size", ("red",)) == pytest.approx(0.0)
    assert evaluation.deviation_leak(effects, "size", ("red",)) == pytest.approx(1.0)
    assert evaluation.deviation_ratios(effects, "size") == {"red": pytest.approx(1.0)}


def test_drift_separates_a_systematic_pull_from_samples_re_rolled():
    """An attribute every seed moves the same way is all drift; one that each seed re-rolls around the same mean
    deviates as much but has no drift, which tells the user preservation will not help it."""
    strengths = [-2.0, -1.0, 0.0, 1.0, 2.0]
    seeds = torch.tensor([0.0, 1.0, 2.0, 3.0])
    target = torch.stack([seeds + s for s in strengths])
    pulled = torch.stack([seeds + 0.5 * s for s in strengths])
    flips = torch.tensor([1.0, -1.0, 1.0, -1.0])
    re_rolled = torch.stack([seeds + (0.5 * flips if s else 0.0) for s in strengths])
    effects = evaluation.sweep_effects(strengths, {"x": target, "size": pulled, "red": re_rolled})
    deviations, drifts = evaluation.deviation_ratios(effects, "x"), evaluation.drift_ratios(effects, "x")
    assert deviations["size"] == pytest.approx(0.5) and drifts["size"] == pytest.approx(0.5)
    assert deviations["red"] == pytest.approx(1 / 3) and drifts["red"] == pytest.approx(0.0)


def test_a_one_seed_sweep_reports_no_spread_instead_of_a_made_up_one():
    """One seed row has no natural variation to measure: figures in spreads read NaN, and the summary says what to
    change rather than printing a number."""
    import warnings

    from slider_core.toyworld import measurement

    strengths = [-2.0, 0.0, 2.0]
    values = torch.tensor([[0.1], [0.2], [0.3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        effect = evaluation.sweep_effect(strengths, values)
        summary = measurement.summarise({"size": values}, strengths)
    assert effect.change == pytest.approx(0.2) and effect.rho == pytest.approx(1.0)
    assert torch.isnan(torch.tensor(effect.effect))
    assert "n/a" in summary and "at least 2 seed rows" in summary
    several = measurement.summarise({"size": torch.cat([values, values + 0.1], dim=1)}, strengths)
    assert "n/a" not in several
