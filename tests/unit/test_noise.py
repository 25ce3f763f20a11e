"""The families' noising and prediction spaces: every conversion is the inverse of the others."""
from __future__ import annotations

import pytest
import torch

from slider_core.training.latent_sources import euler_states
from slider_core.training.noise import NoiseSchedule

SPACES = [("variance_exploding", "epsilon"), ("variance_exploding", "v"), ("flow", "flow")]


@pytest.mark.parametrize(("noising", "prediction"), SPACES)
def test_target_denoises_to_the_clean_latent_and_back(noising, prediction):
    """Tolerance 1e-5: float32 round trips of order-one values."""
    schedule = NoiseSchedule(torch.linspace(0.02, 1.0, 50), noising, prediction)
    generator = torch.Generator().manual_seed(0)
    clean, noise = torch.randn(3, 4, 5, 5, generator=generator), torch.randn(3, 4, 5, 5, generator=generator)
    sigma = torch.tensor([0.05, 0.5, 0.99])
    x = schedule.noised(clean, noise, sigma)
    target = schedule.target(clean, noise, sigma)
    torch.testing.assert_close(schedule.denoised(x, sigma, target), clean, atol=1e-5, rtol=0)
    torch.testing.assert_close(schedule.prediction_of(x, sigma, clean), target, atol=1e-5, rtol=0)
    torch.testing.assert_close(schedule.derivative(x, sigma, target), (x - clean) / sigma.view(-1, 1, 1, 1),
                               atol=1e-4, rtol=0)


@pytest.mark.parametrize(("noising", "prediction"), SPACES)
def test_an_oracle_sampled_from_pure_noise_lands_on_its_image(noising, prediction):
    """A model that always predicts the one clean latent: Euler over the family's own schedule must end there."""
    table = torch.linspace(0.01, 1.0 if noising == "flow" else 14.6, 100)
    schedule = NoiseSchedule(table, noising, prediction)
    clean = torch.randn(1, 4, 3, 3, generator=torch.Generator().manual_seed(1))

    def oracle(x: torch.Tensor, sigma: torch.Tensor, prompts: list[int]) -> torch.Tensor:
        return schedule.prediction_of(x, sigma, clean.expand_as(x))

    noise = torch.randn(1, 4, 3, 3, generator=torch.Generator().manual_seed(2))
    sigmas = torch.cat([table.flip(0)[::10], table.new_zeros(1)])
    x, sigma = euler_states(oracle, schedule, noise, sigmas, len(sigmas) - 1, 0, 1, 3.0)[-1]
    assert sigma == 0.0
    torch.testing.assert_close(x, clean, atol=1e-4, rtol=0)
