"""Judging a slider by what it does: efficacy, locality and leakage from a measured strength sweep.

A sweep is a (strengths × seeds) grid of one measured attribute; seeds share their noise across strengths,
so each seed is its own controlled experiment.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def ranks(values: torch.Tensor) -> torch.Tensor:
    """Average ranks (ties share their mean rank), as Spearman's ρ needs."""
    order = values.argsort()
    ranked = torch.empty_like(values, dtype=torch.float64)
    ranked[order] = torch.arange(len(values), dtype=torch.float64)
    for value in values.unique():
        tied = values == value
        if tied.sum() > 1:
            ranked[tied] = ranked[tied].mean()
    return ranked


def spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    rx, ry = ranks(x.flatten()), ranks(y.flatten())
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = (rx.norm() * ry.norm()).item()
    return float((rx @ ry).item() / denominator) if denominator > 0 else 0.0


@dataclass(frozen=True)
class SweepEffect:
    """How one attribute responds to the strength over a sweep.

    rho: median over seeds of Spearman ρ(strength, attribute) — each seed is a controlled run.
    change: mean attribute at the highest strength minus at the lowest.
    spread: standard deviation across seeds at strength 0 (the attribute's natural variation).
    effect: |change| / spread, the change in units of natural variation.
    """

    rho: float
    change: float
    spread: float

    @property
    def effect(self) -> float:
        return abs(self.change) / max(self.spread, 1e-8)


def sweep_effect(strengths: list[float], values: torch.Tensor) -> SweepEffect:
    """`values` is (len(strengths), seeds), rows in the order of `strengths`."""
    table = values.double()
    x = torch.tensor(strengths, dtype=torch.float64)
    per_seed = torch.tensor([spearman(x, table[:, seed]) for seed in range(table.shape[1])])
    zero = strengths.index(0.0) if 0.0 in strengths else len(strengths) // 2
    low, high = int(x.argmin()), int(x.argmax())
    return SweepEffect(rho=float(per_seed.median()), change=float(table[high].mean() - table[low].mean()),
                       spread=float(table[zero].std()))


def sweep_effects(strengths: list[float], table: dict[str, torch.Tensor]) -> dict[str, SweepEffect]:
    """Every attribute of a measured sweep table (attribute → (strengths, seeds)) as its SweepEffect."""
    return {name: sweep_effect(strengths, values) for name, values in table.items()}


def locality_ratios(effects: dict[str, SweepEffect], target: str) -> dict[str, float]:
    """Every other attribute's effect as a fraction of the target's: 0 is a perfectly local slider."""
    reference = max(effects[target].effect, 1e-8)
    return {name: effect.effect / reference for name, effect in effects.items() if name != target}


def leak(effects: dict[str, SweepEffect], target: str, into: tuple[str, ...]) -> float:
    """How far a slider drags the attributes `into` along with its target: the largest of their locality
    ratios. Leakage into an attribute entangled with the target is what preservation concepts remove."""
    ratios = locality_ratios(effects, target)
    return max(ratios[name] for name in into)


def composition_ratio(together: SweepEffect, alone: SweepEffect) -> float:
    """A slider's change of its attribute with another slider applied as well, over its change alone:
    1 when composing leaves it untouched, below 1 when the other slider damps it (signed, so a reversal shows)."""
    return together.change / alone.change if alone.change else 0.0
