"""Every node checks its own numeric inputs against the limits its INPUT_TYPES declares.

The host's validation cannot be relied on for this: it compares FLOAT widgets with their min and max, and every
comparison with NaN is false, so NaN passes (a NaN strength gives a NaN image, a NaN start percent an IndexError
deep in the host); and a caller of the node's function (a script, another pack) skips the UI's limits
altogether, so width 0 or rows −1 reach torch. One check, read from the same declarations the UI shows, keeps
the two from drifting apart.
"""
from __future__ import annotations

import math
from typing import Any

from ..slider_core.errors import SliderConfigError


def check_numbers(node: type, **values: Any) -> None:
    """Each FLOAT input finite and each INT input whole, both within the node's declared min/max, or a
    SliderConfigError naming the node, the input, the value and the range to give."""
    declared = node.INPUT_TYPES()
    specs = {**declared.get("required", {}), **declared.get("optional", {})}
    for name, value in values.items():
        kind, options = specs[name][0], specs[name][1]
        low, high = options.get("min", -math.inf), options.get("max", math.inf)
        if kind == "FLOAT":
            usable = _is_number(value) and math.isfinite(value) and low <= value <= high
            wanted = "a finite number"
        elif kind == "INT":
            usable = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
            wanted = "a whole number"
        else:
            raise TypeError(f"{node.__name__}.{name} is a {kind} input, not a number")
        if not usable:
            raise SliderConfigError(f"{node.DISPLAY_NAME}: {name} is {value!r}; give {wanted} from {_shown(low)} to "
                                    f"{_shown(high)}")


def _shown(limit: float) -> str:
    return f"{limit:g}" if isinstance(limit, float) else str(limit)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
