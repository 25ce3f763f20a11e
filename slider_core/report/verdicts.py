"""From a measured sweep to what a user can act on: efficacy, locality, the usable range, and verdicts.

Thresholds, and why:
- NO_EFFECT_SPREADS: at some probed strength the mean efficacy score must have moved from strength 0 by at least
  one seed spread (its standard deviation across seeds near strength 0, seed_spread); below that, what the slider
  does is within what a new seed does anyway. The move must be towards the positive prompt at positive strengths,
  else the slider is reversed.
- SATURATION_SLOPE: going outward from 0, a strength still belongs to the range while the mean efficacy score
  keeps rising at least this fraction of its slope between the strengths nearest 0. A score that stalls means the
  slider adds little there; one that falls back means it is over-driven (the images break instead of going further).
- LEAK_LIMIT: at each strength, a preservation pair's mean absolute change from strength 0 over seeds, in that
  pair's own seed spreads, may be at most this fraction of the efficacy score's change in its seed spreads (the
  leak of tests/host/test_semantics.py, measured by the model instead of a ruler): a preserved attribute moving half
  as far as the target, each against its own natural variation, is plain to see beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import evaluation
from ..strengths import format_strengths
from .measure import SweepMeasurement

NO_EFFECT_SPREADS = 1.0
SATURATION_SLOPE = 0.25
LEAK_LIMIT = 0.5


@dataclass(frozen=True)
class RangeEnd:
    strength: float
    """The last strength on this side that is still in range (0 when none is)."""
    stopped_by: str
    """'' (the probe's end was reached), 'saturation', 'falls back', or the label of the pair that leaked."""


@dataclass(frozen=True)
class Verdict:
    rho: float
    """Pooled Spearman ρ(strength, efficacy score) over every (strength, seed) sample."""
    rho_per_seed: float
    """Median over seeds of the per-seed ρ: each seed is a controlled run."""
    change: float
    spread: float
    leaks: dict[str, list[float]]
    """Preservation pair → its leak ratio at each probed strength (0 at strength 0)."""
    low: RangeEnd
    high: RangeEnd
    messages: list[str]
    peak: float
    """The largest move of the mean efficacy score from strength 0, in seed spreads, signed by the strength that
    made it (positive: the way the slider's prompts say)."""

    @property
    def effect(self) -> float:
        """The change from the lowest to the highest probed strength in seed spreads."""
        return abs(self.change) / max(self.spread, 1e-12)

    @property
    def works(self) -> bool:
        return self.peak >= NO_EFFECT_SPREADS

    @property
    def strength_range(self) -> tuple[float, float] | None:
        """The calibrated range, or None when there is nothing to calibrate (no effect)."""
        if not self.works or self.low.strength == self.high.strength:
            return None
        return (self.low.strength, self.high.strength)


def seed_spread(scores: torch.Tensor, zero: int) -> float:
    """The natural variation of a score: its standard deviation across seeds, pooled over strength 0 and the
    strengths next to it (a report has few seeds, and the spread of two or three at one strength alone can be
    near zero by chance, which would blow up every ratio taken in its units)."""
    near = scores.double()[max(zero - 1, 0) : zero + 2]
    return float(near.var(dim=1).mean().sqrt())


def _moves(scores: torch.Tensor, zero: int) -> torch.Tensor:
    """(strengths,): mean absolute change from strength 0 over seeds, in seed spreads."""
    scores = scores.double()
    return (scores - scores[zero]).abs().mean(dim=1) / max(seed_spread(scores, zero), 1e-12)


def leak_ratios(measurement: SweepMeasurement) -> dict[str, list[float]]:
    zero = measurement.zero
    moved = _moves(measurement.efficacy, zero)
    return {label: [float(value) for value in _moves(scores, zero) / moved.clamp_min(1e-12) * (moved > 0)]
            for label, scores in measurement.locality.items()}


def _range_end(strengths: list[float], means: torch.Tensor, leaks: dict[str, list[float]], zero: int,
               step: int, slope: float) -> RangeEnd:
    """Walk from 0 towards one end (`step` ±1 in index) while the slider keeps rising and stays local."""
    last = 0.0
    index = zero + step
    while 0 <= index < len(strengths):
        previous = index - step
        rise = (means[index] - means[previous]) / (strengths[index] - strengths[previous])
        if slope <= 0 or rise < 0:
            return RangeEnd(last, "falls back")
        if rise < SATURATION_SLOPE * slope:
            return RangeEnd(last, "saturation")
        leaking = [label for label, values in leaks.items() if values[index] > LEAK_LIMIT]
        if leaking:
            return RangeEnd(last, leaking[0])
        last = strengths[index]
        index += step
    return RangeEnd(last, "")


def judge(measurement: SweepMeasurement) -> Verdict:
    strengths = measurement.strengths
    zero = measurement.zero
    efficacy = measurement.efficacy.double()
    effect = evaluation.sweep_effect(strengths, efficacy)
    means = efficacy.mean(dim=1)
    inner = (means[zero + 1] - means[zero - 1]) / (strengths[zero + 1] - strengths[zero - 1]) \
        if 0 < zero < len(strengths) - 1 else (means[-1] - means[0]) / (strengths[-1] - strengths[0])
    leaks = leak_ratios(measurement)
    low = _range_end(strengths, means, leaks, zero, -1, float(inner))
    high = _range_end(strengths, means, leaks, zero, +1, float(inner))
    spread = seed_spread(efficacy, zero)
    signed = (means - means[zero]) / max(spread, 1e-12) * torch.tensor(strengths, dtype=torch.float64).sign()
    verdict = Verdict(rho=effect.pooled_rho, rho_per_seed=effect.rho, change=effect.change, spread=spread, leaks=leaks,
                      low=low, high=high, messages=[], peak=float(signed[signed.abs().argmax()]))
    verdict.messages.extend(_messages(verdict, strengths))
    return verdict


def _messages(verdict: Verdict, strengths: list[float]) -> list[str]:
    summary = (f"efficacy: rho {verdict.rho:.2f} (per seed {verdict.rho_per_seed:.2f}), change "
               f"{verdict.change:+.3g} = {verdict.effect:.1f} seed spreads over {format_strengths([strengths[0]])}"
               f"...{format_strengths([strengths[-1]])}")
    if not verdict.works:
        if verdict.peak <= -NO_EFFECT_SPREADS:
            return [f"reversed: positive strengths move towards the negative prompt ({summary}); swap the "
                    "slider's positive and negative prompts, or use negative strengths", summary]
        return [f"no measurable effect (moves at most {abs(verdict.peak):.2f} seed spreads from strength 0, needs "
                f"{NO_EFFECT_SPREADS:g}): raise steps or guidance, or check the prompts match the slider", summary]
    messages = []
    for end, side, probe in ((verdict.low, "-", strengths[0]), (verdict.high, "+", strengths[-1])):
        if end.stopped_by == "falls back":
            messages.append(f"over-driven beyond {end.strength:+g}: past it the effect falls back (the images break "
                            "instead of going further); lower guidance or steps and retrain, or keep strengths "
                            f"within {end.strength:+g}")
        elif end.stopped_by == "saturation":
            messages.append(f"saturates beyond {end.strength:+g}: past it the effect rises less than "
                            f"{SATURATION_SLOPE:.0%} of its rate near 0; keep strengths within {end.strength:+g}")
        elif end.stopped_by:
            worst = max(verdict.leaks[end.stopped_by])
            messages.append(f"moves '{end.stopped_by}' beyond {end.strength:+g} (up to {worst:.2f} of the "
                            f"effect, limit {LEAK_LIMIT:g}): add it as a preservation concept and retrain")
        elif abs(probe) == abs(end.strength):
            messages.append(f"still rising at {probe:+g}: probe further {'below' if side == '-' else 'above'} "
                            "to find its limit")
    messages = list(dict.fromkeys(messages))
    low, high = verdict.low.strength, verdict.high.strength
    messages.insert(0, f"usable range {low:+g} ... {high:+g}" if low != high else
                    "no usable range: the effect stalls or leaks at the first strength either side of 0")
    messages.append(summary)
    for label, values in verdict.leaks.items():
        messages.append(f"locality '{label}': moves {max(values):.2f} of the effect at most")
    return messages
