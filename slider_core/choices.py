"""One way to refuse a value that is not on a list: the error names the setting, the closest allowed value and
every allowed one, because a misspelt key or choice must never be silently ignored or guessed (the reference
implementation ignores an unknown `guidance:` and trains with η = 1)."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import SliderConfigError


def nearest_hint(value: object, allowed: Iterable[str]) -> str:
    """'; did you mean X?' for the closest allowed name, or '' when none is close."""
    close = difflib.get_close_matches(str(value), list(allowed), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_choice(what: str, value: object, choices: Iterable[str], where: str = "") -> str:
    """`value` if it is one of `choices`, else a SliderConfigError naming `what` (after `where`, the file or node
    it came from), the nearest choice and all of them."""
    options = list(choices)
    if value in options:
        return str(value)
    place = f"{where}: " if where else ""
    raise SliderConfigError(
        f"{place}unknown {what} {value!r}{nearest_hint(value, options)} (choose one of {', '.join(options)})"
    )


def check_keys(values: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Every key of `values` must be allowed; the first that is not is an error naming `where` and the closest key."""
    names = sorted(allowed)
    for key in values:
        if key not in names:
            raise SliderConfigError(f"{where}: unknown key {key!r}{nearest_hint(key, names)} (known keys: {', '.join(names)})")
