"""Training settings are validated on construction, whoever builds them (node, CLI, a script)."""
from __future__ import annotations

import pytest

from slider_core import errors
from slider_core.training.configs import PairSliderConfig, TextSliderConfig


@pytest.mark.parametrize(("settings", "message"), [
    ({"steps": 0}, "steps must be at least 1"),
    ({"rank": 0}, "rank must be at least 1"),
    ({"alpha": 0.0}, "alpha must be a positive finite number"),
    ({"trajectory": "teleport"}, "unknown trajectory 'teleport'"),
    ({"direction_schedule": "both"}, "unknown direction_schedule"),
])
@pytest.mark.bad_input("bad training setting")
def test_text_config_is_validated(settings, message):
    with pytest.raises(errors.SliderConfigError, match=message):
        TextSliderConfig(**settings)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(("settings", "message"), [
    ({"eta": NAN}, r"guidance \(eta\) must be a finite number, got nan"),
    ({"eta": INF}, r"guidance \(eta\) must be a finite number, got inf"),
    ({"eta": -INF}, r"guidance \(eta\) must be a finite number, got -inf"),
    ({"trajectory_cfg": NAN}, "trajectory cfg must be a finite number"),
])
@pytest.mark.bad_input("NaN guidance")
def test_a_non_finite_guidance_is_named_before_training(settings, message):
    """Not "training diverged at step 1: lower the learning rate", which blames the wrong setting."""
    with pytest.raises(errors.SliderConfigError, match=message):
        TextSliderConfig(**settings)


@pytest.mark.parametrize("config", [TextSliderConfig, PairSliderConfig])
@pytest.mark.parametrize("alpha", [INF, NAN, -INF, 1e400])
@pytest.mark.bad_input("inf alpha setting")
def test_a_non_finite_alpha_is_named_before_training(config, alpha):
    with pytest.raises(errors.SliderConfigError, match="alpha must be a positive finite number"):
        config(alpha=alpha)


@pytest.mark.parametrize("config", [TextSliderConfig, PairSliderConfig])
@pytest.mark.parametrize("learning_rate", [INF, NAN, 1e30, 1.5, "1e-4"])
@pytest.mark.bad_input("inf learning rate")
def test_a_non_finite_or_huge_learning_rate_is_named_before_training(config, learning_rate):
    with pytest.raises(errors.SliderConfigError, match=r"learning rate must be a finite number in \(0, 1\]"):
        config(learning_rate=learning_rate)


def test_rollout_defaults_to_the_references_fifty_steps():
    assert TextSliderConfig(trajectory="rollout").trajectory_steps == 50
    assert TextSliderConfig().trajectory_steps == 20


def test_from_dict_refuses_unknown_keys_with_a_hint():
    assert TextSliderConfig.from_dict({"eta": 2.0}).eta == 2.0
    with pytest.raises(errors.SliderConfigError, match="unknown key 'guidance'"):
        TextSliderConfig.from_dict({"guidance": 4.0})
    with pytest.raises(errors.SliderConfigError, match="unknown key 'bidirectional'"):
        PairSliderConfig.from_dict({"bidirectional": True})
