"""Judging a slider by what it does: efficacy, locality and leakage from a measured strength sweep.

A sweep is a (strengths × seeds) grid of one measured attribute; seeds share their noise across strengths,
so each seed is its own controlled experiment.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy import stats


def spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    """Spearman's ρ (scipy.stats, average ranks for ties); 0 where either side is constant, as a sweep of an
    attribute that never moves is no evidence either way."""
    first, second = x.flatten().double().numpy(), y.flatten().double().numpy()
    if first.min() == first.max() or second.min() == second.max():
        return 0.0
    return float(stats.spearmanr(first, second).statistic)


@dataclass(frozen=True)
class SweepEffect:
    """How one attribute responds to the strength over a sweep.

    rho: median over seeds of Spearman ρ(strength, attribute) — each seed is a controlled run.
    change: mean attribute at the highest strength minus at the lowest.
    spread: standard deviation across seeds at strength 0 (the attribute's natural variation); NaN from one seed,
      where there is no variation to measure, so every figure in spreads reads NaN rather than a made-up number.
    effect: |change| / spread, the change in units of natural variation.
    pooled_rho: Spearman ρ over every (strength, seed) sample at once: unlike the median of per-seed ρ it does not
      hide the seeds where the slider fails, and it counts how far the attribute moves against the seed spread.
    deviation: mean over seeds and non-zero strengths of |attribute(s) − attribute(0)| in spreads: an attribute
      that moves the same way at both ends (a colour shift at −2 and at +2) counts, which `change` cancels out.
    drift: mean over non-zero strengths of |mean over seeds of attribute(s) − that at 0|, in spreads: the part of
      the deviation that moves every seed the same way. Preservation concepts can remove a drift; what the
      deviation holds beyond it is each seed's sample re-rolled (an object drawn from other noise once it moves),
      which no average over prompts touches.
    """

    rho: float
    change: float
    spread: float
    pooled_rho: float = 0.0
    deviation: float = 0.0
    drift: float = 0.0

    @property
    def signed_effect(self) -> float:
        """The change in spreads with its sign kept, so a slider that moves its attribute backwards reads as one."""
        return self.change / max(self.spread, 1e-8)

    @property
    def effect(self) -> float:
        return abs(self.signed_effect)


def sweep_effect(strengths: list[float], values: torch.Tensor) -> SweepEffect:
    """`values` is (len(strengths), seeds), rows in the order of `strengths`."""
    table = values.double()
    x = torch.tensor(strengths, dtype=torch.float64)
    per_seed = torch.tensor([spearman(x, table[:, seed]) for seed in range(table.shape[1])])
    zero = strengths.index(0.0) if 0.0 in strengths else len(strengths) // 2
    low, high = int(x.argmin()), int(x.argmax())
    spread = float(table[zero].std()) if table.shape[1] > 1 else float("nan")  # one seed has no spread
    moved = torch.cat([table[:zero], table[zero + 1:]]) - table[zero]
    return SweepEffect(rho=float(per_seed.median()), change=float(table[high].mean() - table[low].mean()),
                       spread=spread, pooled_rho=spearman(x.repeat_interleave(table.shape[1]), table.flatten()),
                       deviation=float(moved.abs().mean()) / max(spread, 1e-8),
                       drift=float(moved.mean(dim=1).abs().mean()) / max(spread, 1e-8))


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


def deviation_ratios(effects: dict[str, SweepEffect], target: str) -> dict[str, float]:
    """The stricter locality: every other attribute's mean absolute deviation from strength 0 over the target's,
    each in its own spreads (0 = perfectly local). Movement that goes the same way at both ends of the sweep counts
    here, where `locality_ratios`' signed end-to-end change cancels it."""
    reference = max(effects[target].deviation, 1e-8)
    return {name: effect.deviation / reference for name, effect in effects.items() if name != target}


def drift_ratios(effects: dict[str, SweepEffect], target: str) -> dict[str, float]:
    """Every other attribute's drift over the target's deviation: the share of `deviation_ratios` that is a
    systematic pull (the same way for every seed) rather than samples re-rolled; never above it."""
    reference = max(effects[target].deviation, 1e-8)
    return {name: effect.drift / reference for name, effect in effects.items() if name != target}


def deviation_leak(effects: dict[str, SweepEffect], target: str, into: tuple[str, ...]) -> float:
    """The stricter leak: the largest of the attributes `into`'s deviation ratios."""
    ratios = deviation_ratios(effects, target)
    return max(ratios[name] for name in into)


def composition_ratio(together: SweepEffect, alone: SweepEffect) -> float:
    """A slider's change of its attribute with another slider applied as well, over its change alone:
    1 when composing leaves it untouched, below 1 when the other slider damps it (signed, so a reversal shows)."""
    return together.change / alone.change if alone.change else 0.0
