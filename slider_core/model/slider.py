"""The one value that flows through the pack: low-rank deltas on named denoiser modules plus how to use them."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from ..errors import SliderFormatError
from .architectures import architecture


@dataclass
class LowRankDelta:
    """ΔW = (alpha / rank) · up @ down, the LoRA parametrisation (kohya / LoCon for convolutions).

    Linear: down (r, in), up (out, r). Convolution: down (r, in, kh, kw) is the k×k part and up (out, r, 1, 1)
    the 1×1 part, so the delta has the layer's own kernel shape.
    """

    down: torch.Tensor
    up: torch.Tensor
    alpha: float

    def __post_init__(self) -> None:
        if self.down.dim() not in (2, 4) or self.up.dim() != self.down.dim():
            raise SliderFormatError(
                f"lora_down has shape {tuple(self.down.shape)} and lora_up {tuple(self.up.shape)}: "
                "expected 2-D matrices (linear) or 4-D kernels (convolution) of the same kind"
            )
        if self.up.shape[1] != self.down.shape[0]:
            raise SliderFormatError(
                f"rank mismatch: lora_down has {self.down.shape[0]} rows but lora_up has {self.up.shape[1]} columns"
            )

    @property
    def rank(self) -> int:
        return int(self.down.shape[0])

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """Shape of the layer weight this delta applies to, without forming the delta."""
        return (int(self.up.shape[0]), *(int(d) for d in self.down.shape[1:]))

    def weight_delta(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The full-rank delta this adaptor adds to the layer weight at strength 1."""
        down = self.down.to(dtype)
        up = self.up.to(dtype)
        product = up.flatten(1) @ down.flatten(1)
        return (product * self.scale).reshape(up.shape[0], *down.shape[1:])


@dataclass
class SliderMetadata:
    """What a user needs to use a slider well, stored in the file beside the weights.

    `strength_range` and `recommended_start` (fraction of sampling after which the slider switches on; the
    reference waits ~20% so the composition is settled first) have no kohya equivalent, hence our own keys.
    """

    architecture: str | None = None
    title: str = ""
    train_method: str = ""
    target: str = ""
    positive: str = ""
    negative: str = ""
    preserve: list[str] = field(default_factory=list)
    guidance: float | None = None
    strength_range: tuple[float, float] = (-3.0, 3.0)
    recommended_start: float = 0.0
    source_format: str = "concept_sliders"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.architecture is not None:
            architecture(self.architecture)
        low, high = self.strength_range
        if not low < high:
            raise SliderFormatError(f"strength range {self.strength_range} is empty: its minimum must be below its maximum")
        if not 0.0 <= self.recommended_start < 1.0:
            raise SliderFormatError(f"recommended start {self.recommended_start} must be a fraction in [0, 1)")

    def replace(self, **changes: object) -> SliderMetadata:
        return dataclasses.replace(self, **changes)


@dataclass
class Slider:
    """Deltas keyed by kohya module stems (`lora_unet_<module path with _>`), the names every LoRA tool shares."""

    deltas: dict[str, LowRankDelta]
    metadata: SliderMetadata = field(default_factory=SliderMetadata)
    name: str = "slider"

    def __post_init__(self) -> None:
        if not self.deltas:
            raise SliderFormatError(f"slider {self.name!r} holds no UNet LoRA weights")

    @property
    def rank(self) -> int:
        return max(delta.rank for delta in self.deltas.values())

    @property
    def alpha(self) -> float:
        return next(iter(self.deltas.values())).alpha

    @property
    def has_conv(self) -> bool:
        return any(delta.down.dim() == 4 for delta in self.deltas.values())

    def describe(self) -> str:
        """One line a user can read in the graph to check they loaded the right file."""
        meta = self.metadata
        parts = [
            f"{self.name}: {meta.architecture or 'unknown architecture'}",
            f"rank {self.rank}, alpha {self.alpha:g}, {len(self.deltas)} modules" + (" (incl. conv)" if self.has_conv else ""),
        ]
        if meta.train_method:
            parts.append(f"method {meta.train_method}")
        if meta.target or meta.positive or meta.negative:
            parts.append(f"target {meta.target!r}: {meta.negative!r} ← → {meta.positive!r}")
        if meta.preserve:
            parts.append("preserving " + ", ".join(repr(p) for p in meta.preserve))
        low, high = meta.strength_range
        parts.append(f"strength {low:g}…{high:g}, start {meta.recommended_start:.0%}")
        return "; ".join(parts)


def fused_rows(parts: list[tuple[int, int, LowRankDelta]], rows: int) -> LowRankDelta:
    """One delta on a fused weight (q, k and v stacked in one matrix) from deltas on row ranges of it, each
    (first row, row count, delta): exact, with rank the sum of the parts' ranks, a block-diagonal up factor
    carrying each part's alpha/rank, and alpha equal to the rank (scale 1). Ranges must not overlap."""
    covered = torch.zeros(rows, dtype=torch.bool)
    downs, ups = [], []
    total = sum(delta.rank for _, _, delta in parts)
    column = 0
    for first, count, delta in parts:
        if first < 0 or first + count > rows or covered[first:first + count].any() or delta.up.shape[0] != count:
            raise SliderFormatError(f"row range {first}..{first + count} does not fit a fused weight of {rows} rows "
                                    "or overlaps another part of it")
        covered[first:first + count] = True
        up = torch.zeros(rows, total, dtype=torch.float32)
        up[first:first + count, column:column + delta.rank] = delta.up.float().flatten(1) * delta.scale
        ups.append(up)
        downs.append(delta.down.float())
        column += delta.rank
    return LowRankDelta(down=torch.cat(downs), up=torch.stack(ups).sum(dim=0), alpha=float(total))
