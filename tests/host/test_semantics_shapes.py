"""Sliders do what the paper says in the second world too: the shapes world, of a different make from the blobs.

A slider trained by Train Slider From Prompts at its node defaults, exactly as a user gets it (harness/world_sliders.py,
as benchmarks/semantics.py measures), swept −2…2 on 16 seeds in the host's sampler. The figures are issue 17's
stricter yardstick: ρ pooled over all (strength, seed) samples, the change −2→+2 in seed spreads at 0, and each
other attribute's mean |deviation from strength 0| over the target's (slider_core/evaluation.py).

Thresholds, from three training seeds (benchmarks/README.md, "Text sliders at node defaults over training seeds"):
the background slider measured ρ 0.979–0.980, change 8.44–9.35, leaks into the named attributes 0.057–0.151 and
into the unnamed size, whose range is narrow (0.30–0.36 of the width, so a few hundredths read as many spreads),
0.178–0.229. The test holds it to issue 17's bars on ρ and change (0.95, 6) and to LEAK / SIZE_LEAK on locality,
which the worst seed clears by a quarter.
The height slider is the world's entangled pair (objects at the top mostly on light backgrounds): trained without
naming the backgrounds ("a shape {}") its background leak measured 2.16 (training seed 0), preserving both
backgrounds 0.57, a ratio of 0.26 against issue 17's bar of one half; ENTANGLED_LEAK asks the unpreserved slider
to show the entanglement at all.
Composition, issue 17's bar exactly (COMPOSITION, 80–120 %): the background slider swept with the warmth slider
chained on at +1 and the warmth slider with the background one, each against its change alone (measured 1.01 and
0.95, training seed 0; benchmarks/README.md's composition row, 1.01 for the background with warmth).
"""
from __future__ import annotations

import pytest
from ci_share import ON_NEWEST_HOST

from harness import experiments

evaluation = experiments.evaluation

pytestmark = [pytest.mark.slow, ON_NEWEST_HOST]

RHO = 0.95
CHANGE = 6.0
LEAK = 0.2
SIZE_LEAK = 0.3
PRESERVATION = 0.5
ENTANGLED_LEAK = 1.0
COMPOSITION = (0.8, 1.2)
STRENGTHS = [-2.0, -1.0, 0.0, 1.0, 2.0]
SEEDS = 16


@pytest.fixture(scope="module")
def shapes(host):
    from harness.world_sliders import LoadedWorld

    return LoadedWorld.load(host, "shapes")


def measured(shapes, attribute: str):
    """The world's text slider for `attribute` at node defaults, trained and swept."""
    return shapes.measure(shapes.world.prompts.SLIDERS[attribute], shapes.settings(), STRENGTHS, seeds=SEEDS)


@pytest.fixture(scope="module")
def background(shapes):
    return measured(shapes, "background")


@pytest.fixture(scope="module")
def background_effects(background):
    return background.effects()


def test_background_slider_follows_strength_in_the_shapes_world(background_effects):
    background = background_effects["background"]
    change = background.signed_effect
    print(f"\nshapes background slider: pooled rho {background.pooled_rho:.3f}, change {change:.2f} spreads")
    assert background.pooled_rho >= RHO
    assert change >= CHANGE


def test_background_slider_leaves_the_shape_alone(background_effects):
    leaks = evaluation.deviation_ratios(background_effects, "background")
    print("\nshapes background slider leaks: " + ", ".join(f"{name} {value:.3f}" for name, value in leaks.items()))
    assert leaks.pop("size") <= SIZE_LEAK
    assert all(value <= LEAK for value in leaks.values()), leaks


def entangled_leak(shapes, preserve: str) -> float:
    """The preservation check's slider trained with `preserve`: its leak into the attributes entangled with it."""
    slider, dragged, _ = shapes.world.prompts.PRESERVATION_CHECK
    effects = shapes.measure(dict(shapes.world.prompts.SLIDERS[slider], preserve=preserve), shapes.settings(),
                             STRENGTHS, seeds=SEEDS).effects()
    return evaluation.deviation_leak(effects, slider, dragged)


def test_preserving_backgrounds_halves_the_height_sliders_background_leak(shapes):
    slider, _, plain = shapes.world.prompts.PRESERVATION_CHECK
    without = entangled_leak(shapes, plain)
    preserved = entangled_leak(shapes, shapes.world.prompts.SLIDERS[slider]["preserve"])
    print(f"\nshapes {slider} slider's entangled leak: {preserved:.3f} preserving, {without:.3f} without "
          f"(ratio {preserved / without:.2f})")
    assert without >= ENTANGLED_LEAK
    assert preserved <= PRESERVATION * without


def test_chained_shapes_sliders_each_keep_their_change_alone(shapes, background, background_effects):
    warmth = measured(shapes, "warmth")
    ratios = {
        "background": evaluation.composition_ratio(shapes.composed(background, warmth.slider, SEEDS)["background"],
                                                   background_effects["background"]),
        "warmth": evaluation.composition_ratio(shapes.composed(warmth, background.slider, SEEDS)["warmth"],
                                               warmth.effects()["warmth"]),
    }
    print("\nshapes composition (change with the other slider at +1 / alone): "
          + ", ".join(f"{name} {ratio:.2f}" for name, ratio in ratios.items()))
    low, high = COMPOSITION
    assert all(low <= ratio <= high for ratio in ratios.values()), ratios
