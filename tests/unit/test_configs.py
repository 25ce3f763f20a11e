"""Training settings are validated on construction, whoever builds them (node, CLI, a script)."""
from __future__ import annotations

import pytest

from slider_core import errors
from slider_core.training.configs import PairSliderConfig, TextSliderConfig


@pytest.mark.parametrize(("settings", "message"), [
    ({"steps": 0}, "steps must be at least 1"),
    ({"rank": 0}, "rank must be at least 1"),
    ({"alpha": 0.0}, "alpha must be positive"),
    ({"trajectory": "teleport"}, "unknown trajectory 'teleport'"),
    ({"direction_schedule": "both"}, "unknown direction_schedule"),
])
@pytest.mark.bad_input("bad training setting")
def test_text_config_is_validated(settings, message):
    with pytest.raises(errors.SliderConfigError, match=message):
        TextSliderConfig(**settings)


def test_rollout_defaults_to_the_references_fifty_steps():
    assert TextSliderConfig(trajectory="rollout").trajectory_steps == 50
    assert TextSliderConfig().trajectory_steps == 20


def test_from_dict_refuses_unknown_keys_with_a_hint():
    assert TextSliderConfig.from_dict({"eta": 2.0}).eta == 2.0
    with pytest.raises(errors.SliderConfigError, match="unknown key 'guidance'"):
        TextSliderConfig.from_dict({"guidance": 4.0})
    with pytest.raises(errors.SliderConfigError, match="unknown key 'bidirectional'"):
        PairSliderConfig.from_dict({"bidirectional": True})
