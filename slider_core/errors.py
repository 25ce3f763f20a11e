"""Exception types: every failure the pack reports to a user is one of these, with a message naming the culprit."""
from __future__ import annotations


class SliderError(Exception):
    """Base class: callers (nodes, CLI) catch this one type to show a clean message instead of a traceback."""


class SliderFormatError(SliderError):
    """A slider file or tensor set that cannot be read as a low-rank slider."""


class SliderMismatchError(SliderError):
    """A slider that does not fit the model it is applied to (architecture or module keys)."""


class SliderConfigError(SliderError):
    """An invalid setting (training configuration, node input, file name)."""
