"""A slider applied without touching weights, for the part of sampling where it should act (start/end percent).

Weight patches are baked for a whole sampling run; switching a slider on mid-run through them would re-patch
the model each step. The low-rank branch is the same maths (equal to patching W + s·ΔW up to float rounding)
and can be attached and detached per model call.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import torch
from torch import nn

from ..model.slider import Slider
from .lowrank import branches_attached, low_rank_output, per_sample


class LowRankBranches:
    """A slider's fixed factors at one strength, keyed by the module paths of the tree they attach to."""

    def __init__(self, factors: Mapping[str, tuple[torch.Tensor, torch.Tensor, float]]) -> None:
        self.factors = dict(factors)

    @classmethod
    def from_slider(cls, slider: Slider, module_paths: Mapping[str, str], strength: float) -> LowRankBranches:
        """`module_paths` maps the slider's stems to module paths in the tree the branches will attach to."""
        return cls({module_paths[stem]: (delta.down.detach(), delta.up.detach(), strength * delta.scale)
                    for stem, delta in slider.deltas.items()})

    @contextlib.contextmanager
    def attached(self, root: nn.Module) -> Iterator[None]:
        with branches_attached(root, {path: _fixed(*factors) for path, factors in self.factors.items()}):
            yield


class StrengthBatchedBranches:
    """A slider's fixed factors with a strength per sample, so one forward samples it at several strengths (the
    Slider Report's sweep), with the same `attached(root, strengths)` a trainable slider has."""

    def __init__(self, slider: Slider, module_paths: Mapping[str, str]) -> None:
        """`module_paths` maps the slider's stems to module paths in the tree the branches will attach to."""
        self.factors = {module_paths[stem]: (delta.down.detach(), delta.up.detach(), delta.scale)
                        for stem, delta in slider.deltas.items()}

    @contextlib.contextmanager
    def attached(self, root: nn.Module, strengths: torch.Tensor) -> Iterator[None]:
        with branches_attached(root, {path: _per_sample(down, up, scale, strengths)
                                      for path, (down, up, scale) in self.factors.items()}):
            yield


def _per_sample(down: torch.Tensor, up: torch.Tensor, scale: float, strengths: torch.Tensor):
    def branch(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        out = low_rank_output(module, x, down, up)
        return out * (per_sample(strengths, out) * scale)

    return branch


def _fixed(down: torch.Tensor, up: torch.Tensor, factor: float):
    def branch(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return low_rank_output(module, x, down, up) * factor

    return branch
