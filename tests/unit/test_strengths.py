"""Strength lists as users type them: one parser and formatter for sweeps, image-pair training and the CLI."""
from __future__ import annotations

import pytest

from slider_core import errors
from slider_core.strengths import format_strengths, parse_strengths


def test_strengths_parse_commas_and_spaces_and_round_trip():
    values = parse_strengths(" -3,-1.5  0,\n1.5 , 3 ")
    assert values == [-3.0, -1.5, 0.0, 1.5, 3.0]
    assert parse_strengths(format_strengths(values)) == values


@pytest.mark.parametrize(("text", "culprit"), [("-1, 0, big", "'big'"), ("0 12", "'12'"), ("nan", "'nan'"),
                                                ("inf", "'inf'"), (" , ", "no numbers")])
@pytest.mark.bad_input("bad strength list")
def test_bad_entries_are_named(text, culprit):
    with pytest.raises(errors.SliderConfigError, match=culprit):
        parse_strengths(text)


@pytest.mark.parametrize("text", ["-1", "0", "1, 11", "1, nan"])
@pytest.mark.bad_input("bad training setting")
def test_training_strengths_must_be_positive(text):
    with pytest.raises(errors.SliderConfigError, match="strengths"):
        parse_strengths(text, "strengths", "1, 2", positive=True)
