"""The Slider Report's core: the base model's own score, the calibrated range and the verdicts a user acts on."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from slider_core import errors
from slider_core.adaptors.branches import LowRankBranches, StrengthBatchedBranches
from slider_core.model.slider import LowRankDelta, Slider
from slider_core.report import verdicts
from slider_core.report.measure import (
    ReportConfig,
    ReportPrompts,
    SweepMeasurement,
    batches_per_report,
    forwards_per_report,
    measure_sweep,
)
from slider_core.report.scores import pair_scores, prediction_errors, score_levels
from slider_core.training.noise import NoiseSchedule

SIGMAS = torch.linspace(0.03, 14.6, 1000)
LATENT = (4, 4, 4)


class GaussianDenoiser:
    """The exact ε-predictor for data drawn around one mean per prompt (prompt p: N(μ_p, τ²)), plus a 1×1
    convolution of a constant image that a slider can adapt (its delta shifts the prediction, so the sampled
    images shift with the strength). Without a slider, it scores an image by how close it is to each mean."""

    spread = 0.3

    def __init__(self, means: torch.Tensor) -> None:
        self.root = nn.Module()
        self.root.net = nn.Conv2d(4, 4, 1)
        nn.init.zeros_(self.root.net.weight)
        nn.init.zeros_(self.root.net.bias)
        self.means = means
        self.schedule = NoiseSchedule(SIGMAS)
        self.device = torch.device("cpu")
        self.latent_multiple = 1

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        return (4, height, width)

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, prompts) -> torch.Tensor:
        sigma = sigma.view(-1, 1, 1, 1)
        optimal = sigma * (x - self.means[list(prompts)]) / (sigma**2 + self.spread**2)
        return optimal + self.root.net(torch.ones_like(x))


def test_the_score_ranks_images_by_how_much_more_they_look_like_the_positive_prompt():
    means = torch.stack([torch.full(LATENT, -1.0), torch.full(LATENT, 1.0)])
    denoiser = GaussianDenoiser(means)
    images = torch.stack([torch.full(LATENT, value) for value in (-1.0, -0.5, 0.0, 0.5, 1.0)])
    noise = torch.randn(2, *LATENT, generator=torch.Generator().manual_seed(0))
    errors_ = prediction_errors(denoiser, images, [0, 1], score_levels(SIGMAS), noise, batch=3)
    scores = pair_scores(errors_, [0, 1], [(0, 1)])[:, 0]
    assert torch.all(scores[1:] > scores[:-1]), scores
    assert scores[2].abs() < 0.01 * scores[-1].abs()  # halfway: it looks like neither more


def _slider(weight: float) -> Slider:
    """A slider on `net` with delta weight·I (rank 4): at strength s the prediction shifts by s·weight."""
    return Slider({"lora_unet_net": LowRankDelta(down=torch.eye(4).view(4, 4, 1, 1),
                                                 up=weight * torch.eye(4).view(4, 4, 1, 1), alpha=4.0)})


def test_strength_batched_branches_equal_fixed_branches_sample_by_sample():
    denoiser = GaussianDenoiser(torch.zeros(1, *LATENT))
    x = torch.randn(3, *LATENT, generator=torch.Generator().manual_seed(1))
    slider = _slider(0.3)
    strengths = torch.tensor([-2.0, 0.0, 1.5])
    with StrengthBatchedBranches(slider, {"lora_unet_net": "net"}).attached(denoiser.root, strengths):
        batched = denoiser.root.net(x)
    for index, strength in enumerate(strengths.tolist()):
        with LowRankBranches.from_slider(slider, {"lora_unet_net": "net"}, strength).attached(denoiser.root):
            alone = denoiser.root.net(x[index:index + 1])
        torch.testing.assert_close(batched[index:index + 1], alone)


def test_a_report_costs_the_forwards_it_states_and_finds_a_working_slider():
    means = torch.stack([torch.zeros(LATENT), torch.zeros(LATENT), torch.full(LATENT, -0.5),
                         torch.full(LATENT, 0.5)])
    denoiser = GaussianDenoiser(means)
    prompts = ReportPrompts(generate=0, uncond=1, efficacy=((2, 3),))
    config = ReportConfig(strengths=(-1.0, 0.0, 1.0, 2.0), seeds=3, steps=4, cfg=2.0, batch=5)
    branches = StrengthBatchedBranches(_slider(-0.02), {"lora_unet_net": "net"})
    batches: list[None] = []
    measured = measure_sweep(denoiser, branches, prompts, config, LATENT, lambda: batches.append(None))
    assert measured.forwards == forwards_per_report(config, prompts)
    assert len(batches) == batches_per_report(config, prompts)
    assert measured.latents.shape == (4, 3, *LATENT)
    assert torch.equal(measured.image_change[1], torch.zeros(3))
    verdict = verdicts.judge(measured)
    assert verdict.works and verdict.rho > 0.9, verdict.messages


def _measurement(means: list[float], locality: dict[str, list[float]] | None = None,
                 strengths: tuple[float, ...] = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)) -> SweepMeasurement:
    """Scores with the given mean per strength and a seed spread of exactly 1 (seeds at mean ± 1 and mean)."""
    def table(values: list[float]) -> torch.Tensor:
        column = torch.tensor(values, dtype=torch.float64).unsqueeze(1)
        return column + torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)

    count = len(strengths)
    return SweepMeasurement(strengths=list(strengths), efficacy=table(means),
                            locality={label: table(values) for label, values in (locality or {}).items()},
                            image_change=torch.zeros(count, 3), latents=torch.zeros(count, 3, *LATENT), forwards=0)


def test_a_steady_slider_gets_the_whole_probe_as_its_range():
    verdict = verdicts.judge(_measurement([-6, -4, -2, 0, 2, 4, 6]))
    assert verdict.strength_range == (-3.0, 3.0)
    assert verdict.messages[0] == "usable range -3 ... +3"


def test_a_slider_that_stalls_is_said_to_saturate_where_it_stalls():
    verdict = verdicts.judge(_measurement([-2.3, -2.2, -2, 0, 2, 4, 4.1]))
    assert verdict.strength_range == (-1.0, 2.0)
    assert any(line.startswith("saturates beyond -1") for line in verdict.messages)
    assert any(line.startswith("saturates beyond +2") for line in verdict.messages)


def test_a_slider_whose_effect_falls_back_is_called_over_driven():
    verdict = verdicts.judge(_measurement([0, 1, -3, 0, 3, 0.5, -1]))
    assert verdict.strength_range == (-1.0, 1.0)
    assert any(line.startswith("over-driven beyond +1") for line in verdict.messages)


def test_a_slider_within_the_seed_spread_has_no_measurable_effect_and_no_range():
    verdict = verdicts.judge(_measurement([-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3]))
    assert not verdict.works and verdict.strength_range is None
    assert verdict.messages[0].startswith("no measurable effect")
    assert "raise steps or guidance" in verdict.messages[0]


def test_a_slider_moving_the_wrong_way_is_called_reversed():
    verdict = verdicts.judge(_measurement([6, 4, 2, 0, -2, -4, -6]))
    assert verdict.messages[0].startswith("reversed") and verdict.strength_range is None


def test_a_preservation_pair_that_moves_ends_the_range_and_names_itself():
    verdict = verdicts.judge(_measurement([-6, -4, -2, 0, 2, 4, 6],
                                          {"a man | a woman": [0, 0, 0, 0, 0.4, 3.0, 5.0]}))
    assert verdict.strength_range == (-3.0, 1.0)
    assert verdict.leaks["a man | a woman"][4] == pytest.approx(0.2)
    assert any("moves 'a man | a woman' beyond +1" in line and "add it as a preservation concept" in line
               for line in verdict.messages)


@pytest.mark.parametrize("strengths, complaint", [
    ((-1.0, 1.0, 2.0), "lack 0"),
    ((0.0, 1.0), "two distinct non-zero"),
    ((-1.0, 0.0, 1.0, 1.0), "each once"),
    ((-1.0, 0.0, float("nan")), "outside"),
])
def test_report_strengths_that_cannot_anchor_a_measurement_are_refused(strengths, complaint):
    with pytest.raises(errors.SliderConfigError, match=complaint):
        ReportConfig(strengths=strengths)


def test_a_report_needs_two_seeds_for_a_spread():
    with pytest.raises(errors.SliderConfigError, match="seeds must be between 2"):
        ReportConfig(seeds=1)
