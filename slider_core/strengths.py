"""Lists of slider strengths as users type them ("-3, -1.5, 0, 1.5, 3" or "1 2"), read and written one way for
sweeps, image-pair training and the command line."""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

from .errors import SliderConfigError

STRENGTH_LIMIT = 10.0  # Slider Strength's own range: beyond it a strength could not be reproduced when sampling


def parse_strengths(text: str, what: str = "strengths", example: str = "-3, -1.5, 0, 1.5, 3",
                    positive: bool = False) -> list[float]:
    """Numbers separated by commas and/or spaces, each finite and within ±STRENGTH_LIMIT (and > 0 with
    `positive`); the first bad entry is named in the error, with `example` as the fix."""
    entries = [entry for entry in re.split(r"[,\s]+", text.strip()) if entry]
    if not entries:
        raise SliderConfigError(f"{what} {text!r} holds no numbers: give a list such as {example!r}")
    values = []
    for entry in entries:
        try:
            value = float(entry)
        except ValueError:
            raise SliderConfigError(
                f"{what}: entry {entry!r} is not a number; separate numbers with commas or spaces, e.g. {example!r}"
            ) from None
        values.append(check_strength(value, what, positive, shown=entry))
    return values


def check_strength(value: float, what: str, positive: bool = False, shown: str | None = None) -> float:
    """`value` if it is a usable strength, else an error naming `what` (NaN and ±inf are never usable)."""
    label = shown if shown is not None else f"{value:g}"
    if positive and not (math.isfinite(value) and 0 < value <= STRENGTH_LIMIT):
        raise SliderConfigError(
            f"{what}: {label} is not in (0, {STRENGTH_LIMIT:g}]; every strength s trains 'before' at −s and 'after' "
            "at +s, so give positive strengths only (swap the before/after inputs to reverse the slider)"
        )
    if not (math.isfinite(value) and -STRENGTH_LIMIT <= value <= STRENGTH_LIMIT):
        raise SliderConfigError(
            f"{what}: entry {label!r} is outside [-{STRENGTH_LIMIT:g}, {STRENGTH_LIMIT:g}], the range sliders are "
            "meaningful in"
        )
    return value


def format_strengths(values: Sequence[float]) -> str:
    """The canonical text of a strength list; parse_strengths reads it back unchanged."""
    return ", ".join(f"{value:g}" for value in values)


def strength_label(value: float) -> str:
    """Signed, so the two directions of a slider read apart at a glance: -1.5, 0, +1.5."""
    return "0" if value == 0 else f"{value:+g}"
