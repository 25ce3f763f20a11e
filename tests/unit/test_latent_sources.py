"""Where a text slider's noisy latents come from: every source keeps to the noise range it is given."""
from __future__ import annotations

import pytest
import torch

from slider_core import errors
from slider_core.training.configs import TextSliderConfig
from slider_core.training.latent_sources import LatentSource
from slider_core.training.noise import NoiseSchedule

TABLE = torch.linspace(0.03, 14.6, 1000)  # ascending, as a model's σ table


def predict(x: torch.Tensor, sigma: torch.Tensor, conds: list[int]) -> torch.Tensor:
    return 0.1 * x


def drawn_sigmas(kind: str, noise_range: tuple[float, float], draws: int = 60) -> torch.Tensor:
    source = LatentSource(kind, (2, 4, 2, 2), NoiseSchedule(TABLE), 0, 1, steps=20, cfg=1.0, refresh_every=5,
                          generator=torch.Generator().manual_seed(0), device=torch.device("cpu"),
                          noise_range=noise_range)
    return torch.cat([source.sample(predict)[1] for _ in range(draws)])


@pytest.mark.parametrize("kind", ["renoise", "pool", "rollout"])
def test_every_source_draws_only_inside_its_noise_range(kind):
    high = drawn_sigmas(kind, (0.5, 1.0))
    assert high.min() >= TABLE[500] and high.max() <= TABLE[-1]
    everything = drawn_sigmas(kind, (0.0, 1.0))
    assert everything.min() < TABLE[500], "the whole schedule reaches below the middle"


def test_a_range_no_trajectory_step_falls_in_is_named():
    with pytest.raises(errors.SliderConfigError, match="noise range 0.401–0.402 holds none of the 20 trajectory"):
        drawn_sigmas("pool", (0.401, 0.402))
    assert len(drawn_sigmas("renoise", (0.401, 0.402), draws=3).unique()) == 1, "renoise trains at the nearest level"


@pytest.mark.parametrize("value", [(0.6, 0.4), (0.0, 1.5), (float("nan"), 1.0), (0.5,), "0.5-1"])
@pytest.mark.bad_input("bad training setting")
def test_a_bad_noise_range_is_refused_with_the_rule(value):
    with pytest.raises(errors.SliderConfigError, match="noise range must be two numbers 0 ≤ low < high ≤ 1"):
        TextSliderConfig(noise_range=value)


def test_a_job_file_noise_range_list_becomes_a_pair():
    assert TextSliderConfig.from_dict({"noise_range": [0.5, 1]}).noise_range == (0.5, 1.0)
