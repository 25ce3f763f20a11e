"""The toy world's training scenes carry the documented size ↔ colour entanglement, and nothing else."""
from __future__ import annotations

import torch

from slider_core.toyworld.blobs import scenes


def test_entangled_scenes_make_large_blobs_mostly_red_and_small_ones_mostly_blue():
    """P(red | large) = P(blue | small) = 2/3 by construction; 20 000 scenes pin it to about ±0.01 (3 sd)."""
    generator = torch.Generator().manual_seed(0)
    plain = scenes.sample_scenes(20_000, generator)
    entangled = scenes.entangle_size_and_colour(plain, generator)
    large = entangled.radius >= scenes.SIZE_SPLIT
    red, blue = scenes.COLOURS.index("red"), scenes.COLOURS.index("blue")
    assert abs((entangled.colour_index[large] == red).float().mean().item() - 2 / 3) < 0.015
    assert abs((entangled.colour_index[~large] == blue).float().mean().item() - 2 / 3) < 0.015
    # only the colour's order changes: the shares are a permutation of the original ones, sizes untouched
    assert torch.equal(entangled.colour.sort(dim=1).values, plain.colour.sort(dim=1).values)
    assert torch.equal(entangled.radius, plain.radius)


def test_every_worlds_image_pairs_move_their_attribute_and_keep_the_rest():
    """A pair benchmark trusts each world's pairs to differ in the named attribute alone, as measured: the named
    one rises by far more than any other moves, whatever the world."""
    from slider_core.toyworld import worlds

    for world in worlds.WORLDS.values():
        spans = {name: values.max() - values.min() + 1e-3 for name, values in world.measured_training_scenes().items()}
        for attribute in world.pair_attributes:
            before, after = world.pair_scenes(attribute, 6, 1)
            low, high = world.metrics.measure(world.scenes.render(before)), world.metrics.measure(
                world.scenes.render(after))
            moved = {name: float(((high[name] - low[name]) / spans[name]).mean()) for name in low}
            assert moved[attribute] > 0.5, (world.name, attribute, moved)
            others = [abs(value) for name, value in moved.items() if name != attribute]
            assert max(others) < 0.1, (world.name, attribute, moved)
