"""The one low-rank forward: fixed branches and trainable adaptors add exactly what patching W + s·ΔW would."""
from __future__ import annotations

import torch
from torch import nn

from slider_core.adaptors.branches import LowRankBranches
from slider_core.adaptors.trainable import TrainableSlider
from slider_core.model.slider import LowRankDelta, Slider, SliderMetadata


def tree() -> nn.Module:
    torch.manual_seed(0)
    root = nn.Module()
    root.linear = nn.Linear(6, 5)
    root.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    return root


def forward(root: nn.Module, x: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return root.linear(x), root.conv(image)


def random_slider() -> Slider:
    generator = torch.Generator().manual_seed(1)
    return Slider({
        "lora_unet_linear": LowRankDelta(torch.randn(2, 6, generator=generator), torch.randn(5, 2, generator=generator), 1.0),
        "lora_unet_conv": LowRankDelta(torch.randn(2, 3, 3, 3, generator=generator),
                                       torch.randn(4, 2, 1, 1, generator=generator), 4.0),
    })


def test_branches_equal_the_weight_patch_and_detach_afterwards():
    """Tolerance 1e-5: (W + sΔW)x and Wx + sΔWx differ only by float32 rounding."""
    root, slider = tree(), random_slider()
    x, image = torch.randn(3, 6), torch.randn(2, 3, 8, 8)
    plain = forward(root, x, image)
    branches = LowRankBranches.from_slider(slider, {"lora_unet_linear": "linear", "lora_unet_conv": "conv"}, -1.5)
    with torch.no_grad(), branches.attached(root):
        slid = forward(root, x, image)
    patched = tree()
    with torch.no_grad():
        patched.linear.weight += -1.5 * slider.deltas["lora_unet_linear"].weight_delta()
        patched.conv.weight += -1.5 * slider.deltas["lora_unet_conv"].weight_delta()
    for ours, expected in zip(slid, forward(patched, x, image), strict=True):
        torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    for after, before in zip(forward(root, x, image), plain, strict=True):
        assert torch.equal(after, before)


def test_trainable_adaptor_gives_each_sample_its_own_strength():
    root = tree()
    slider = TrainableSlider(root, ["linear", "conv"], {"linear": "lora_unet_linear", "conv": "lora_unet_conv"},
                             rank=2, alpha=1.0, seed=0)
    with torch.no_grad():
        for parameter in slider.parameters():
            parameter.normal_()
    exported = slider.export(SliderMetadata(), "s")
    x, image = torch.randn(2, 6), torch.randn(2, 3, 8, 8)
    with torch.no_grad(), slider.attached(root, torch.tensor([1.0, -2.0])):
        both = forward(root, x, image)
    for row, strength in enumerate((1.0, -2.0)):
        branches = LowRankBranches.from_slider(exported, {"lora_unet_linear": "linear", "lora_unet_conv": "conv"},
                                               strength)
        with torch.no_grad(), branches.attached(root):
            alone = forward(root, x[row:row + 1], image[row:row + 1])
        for ours, expected in zip(both, alone, strict=True):
            torch.testing.assert_close(ours[row:row + 1], expected, atol=1e-5, rtol=0)


def test_a_new_adaptor_changes_nothing_until_trained():
    """up starts at zero, so ΔW = 0 and the slid model is exactly the base model."""
    root = tree()
    slider = TrainableSlider(root, ["linear", "conv"], {"linear": "a", "conv": "b"}, rank=4, alpha=1.0, seed=0)
    x, image = torch.randn(2, 6), torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        plain = forward(root, x, image)
        with slider.attached(root, torch.ones(2)):
            slid = forward(root, x, image)
    assert all(torch.equal(a, b) for a, b in zip(plain, slid, strict=True))
