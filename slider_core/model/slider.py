"""The one value that flows through the pack: low-rank deltas on named denoiser modules plus how to use them."""
from __future__ import annotations

import dataclasses
import math
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
        check_factor_shapes(tuple(self.down.shape), tuple(self.up.shape))

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

    def norm(self, chunk: int = 1 << 20) -> float:
        """‖ΔW‖_F = |α/r|·‖up·down‖_F exactly, without forming the product: ‖UD‖²_F = Σ (UᵀU) ⊙ (DDᵀ), two r×r
        Gram matrices, O((in + out)·r²). Accumulated in float64 a chunk of ~`chunk` elements at a time, so factors
        near the fp32 limit (3.4e38) give their true size instead of inf, and no full-size copy is made."""
        up = self.up.reshape(self.up.shape[0], -1)
        down = self.down.reshape(self.down.shape[0], -1)
        step = max(1, chunk // self.rank)
        gram_up = sum(part.double().T @ part.double() for part in up.split(step))
        gram_down = sum(part.double() @ part.double().T for part in down.split(step, dim=1))
        return abs(self.scale) * math.sqrt(max(float((gram_up * gram_down).sum()), 0.0))


def check_factor_shapes(down: tuple[int, ...], up: tuple[int, ...]) -> None:
    """The shapes the LoRA maths (ours and every host's) needs; anything else is an error saying what is wrong.

    Linear: down (r, in), up (out, r). Convolution: down (r, in, kh, kw) carries the layer's kernel and up is
    (out, r, 1, 1): hosts multiply up.flatten(1) @ down.flatten(1), which only means the layer's delta then."""
    if len(down) not in (2, 4) or len(up) != len(down):
        raise SliderFormatError(f"lora_down has shape {down} and lora_up {up}: expected 2-D matrices (linear) or "
                                "4-D kernels (convolution) of the same kind")
    if 0 in down or 0 in up:
        raise SliderFormatError(f"lora_down has shape {down} and lora_up {up}: a factor with an empty dimension "
                                "(rank 0) holds no delta; re-export the slider or drop this module")
    if up[1] != down[0]:
        raise SliderFormatError(f"rank mismatch: lora_down has {down[0]} rows but lora_up has {up[1]} columns")
    if len(up) == 4 and up[2:] != (1, 1):
        raise SliderFormatError(f"convolution factors disagree: lora_down has a {down[2]}x{down[3]} kernel and "
                                f"lora_up a {up[2]}x{up[3]} one; lora_up must be 1x1 (the layer's kernel lives in "
                                "lora_down, as kohya's LoCon writes it)")


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
