"""Procedural one-blob scenes, rendered straight into SD1.x-shaped latents, with captions that name them.

The world exists so that an attribute can be *measured* on what a sampler produces: one soft disc on a black
background, with a continuous size, position, colour and brightness. Channels 0-2 hold the disc's red, green and
blue intensity, channel 3 its coverage (an alpha mask), so every attribute is readable from the latent alone.
The base model's training scenes tie size to colour on purpose (:func:`entangle_size_and_colour`).

Latent convention. In model space (what the denoiser sees) a channel value ``v`` in [0, 1] is ``MODEL_SCALE *
v``: the background is exactly 0 and a blob reaches MODEL_SCALE, about the range of real SD latents. A zero
background matters: an epsilon-predicting model recovers the data mean at high noise only to within its tiny
error times sigma, so a non-zero background would drift during sampling. ComfyUI's SD1.x latent format multiplies
LATENT samples by 0.18215 on the way into the model and divides on the way out, so the host's raw
LATENT["samples"] (what KSampler returns and what :func:`render` produces) are model space / 0.18215.

Spatial attributes are fractions of the latent width (x, y, radius), so scenes and metrics work at any size.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

LATENT_SCALE = 0.18215  # comfy.latent_formats.SD15.scale_factor: raw samples * LATENT_SCALE = model space
MODEL_SCALE = 5.0  # model-space value of a full channel
LATENT_SIZE = 16  # latent pixels per side the base model is trained at (a 128x128 "image")
DECODE_UPSCALE = 8  # ToyWorldDecode's pixels per latent pixel, like the SD VAE's 8x

# Fraction of the width: 2.2-4 latent pixels at 16x16. The smallest blob is still a clear disc: were "small" a
# dot next to nothing, a size slider's negative side would learn to erase the blob rather than shrink it.
RADIUS_RANGE = (0.14, 0.25)
CENTRE_RANGE = (0.28, 0.72)  # x and y of the centre; keeps the largest disc inside the frame
BRIGHTNESS_RANGE = (0.4, 1.0)
TINT_MAX = 0.25  # the two non-dominant colour channels get up to this much of the dominant one
EDGE_SOFTNESS = 0.35  # latent pixels: the disc's edge is a sigmoid this wide

COLOURS = ("red", "green", "blue")
SIZE_WORDS = ("small", "large")
BRIGHTNESS_WORDS = ("dim", "bright")
SIDE_PHRASES = ("on the left", "on the right")
SIZE_SPLIT = sum(RADIUS_RANGE) / 2
BRIGHTNESS_SPLIT = sum(BRIGHTNESS_RANGE) / 2
SIDE_SPLIT = 0.5
# Training data only: with this probability a large blob is made red and a small one blue, otherwise the colour
# stays uniform, so P(red | large) = P(blue | small) = 0.5 + 0.5/3 = 2/3. See :func:`entangle_size_and_colour`.
SIZE_COLOUR_ENTANGLEMENT = 0.5


@dataclass(frozen=True)
class Scenes:
    """A batch of scene parameters, one row per scene (float tensors of shape (B,) unless noted)."""

    radius: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    colour: torch.Tensor  # (B, 3): red/green/blue shares, summing to 1
    brightness: torch.Tensor

    def __len__(self) -> int:
        return self.radius.shape[0]

    @property
    def colour_index(self) -> torch.Tensor:
        """The named colour of each scene: the dominant channel."""
        return self.colour.argmax(dim=1)


def _uniform(n: int, bounds: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(n, generator=generator)


def sample_scenes(n: int, generator: torch.Generator) -> Scenes:
    """n independent scenes: every attribute is uniform over its range and independent of the others."""
    radius = _uniform(n, RADIUS_RANGE, generator)
    x = _uniform(n, CENTRE_RANGE, generator)
    y = _uniform(n, CENTRE_RANGE, generator)
    dominant = torch.randint(len(COLOURS), (n,), generator=generator)
    mix = TINT_MAX * torch.rand(n, len(COLOURS), generator=generator)
    mix[torch.arange(n), dominant] = 1.0
    brightness = _uniform(n, BRIGHTNESS_RANGE, generator)
    return Scenes(radius, x, y, mix / mix.sum(dim=1, keepdim=True), brightness)


def with_dominant(batch: Scenes, wanted: torch.Tensor) -> Scenes:
    """The scenes with dominant colour `wanted` (B,): each scene's shares permuted, its tints kept."""
    index = torch.arange(len(batch))
    colour = batch.colour.clone()
    dominant = batch.colour_index
    colour[index, dominant], colour[index, wanted] = batch.colour[index, wanted], batch.colour[index, dominant]
    return replace(batch, colour=colour)


def entangle_size_and_colour(
    batch: Scenes, generator: torch.Generator, strength: float = SIZE_COLOUR_ENTANGLEMENT
) -> Scenes:
    """The base model's training scenes: size and colour deliberately correlated, as concepts are in real data.

    With probability `strength` a large blob (radius above the size split) becomes red and a small one blue; the
    rest keep their uniform colour. "a large blob" then means "probably red" to the model, so a size slider
    trained on "a large blob" ↔ "a small blob" learns redness along with size unless it preserves the colours
    (the paper's age ↔ gender/race entanglement, eq. 6). A caption that names the colour still names the
    blob's true one.
    """
    forced = torch.rand(len(batch), generator=generator) < strength
    large = batch.radius >= SIZE_SPLIT
    entangled = torch.where(large, COLOURS.index("red"), COLOURS.index("blue"))
    return with_dominant(batch, torch.where(forced, entangled, batch.colour_index))


def render(scenes: Scenes, size: int = LATENT_SIZE) -> torch.Tensor:
    """Raw LATENT samples (B, 4, size, size) of the scenes, in the host's convention (model space / 0.18215)."""
    centres = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    dx = centres.view(1, 1, size) - scenes.x.view(-1, 1, 1)
    dy = centres.view(1, size, 1) - scenes.y.view(-1, 1, 1)
    distance = torch.sqrt(dx**2 + dy**2) * size
    mask = torch.sigmoid((scenes.radius.view(-1, 1, 1) * size - distance) / EDGE_SOFTNESS)
    rgb = mask.unsqueeze(1) * (scenes.brightness.view(-1, 1) * scenes.colour).view(-1, 3, 1, 1)
    values = torch.cat([rgb, mask.unsqueeze(1)], dim=1)
    return values * (MODEL_SCALE / LATENT_SCALE)


def channel_values(samples: torch.Tensor) -> torch.Tensor:
    """Raw LATENT samples back to channel values (nominally in [0, 1]); the inverse of :func:`render`'s mapping."""
    return samples.float() * (LATENT_SCALE / MODEL_SCALE)


def latent_to_image(samples: torch.Tensor, upscale: int = DECODE_UPSCALE) -> torch.Tensor:
    """The trivial "VAE decode": the RGB channels as a ComfyUI IMAGE (B, H, W, 3) in [0, 1], upscaled nearest."""
    rgb = channel_values(samples)[:, :3].clamp(0.0, 1.0)
    return rgb.repeat_interleave(upscale, dim=2).repeat_interleave(upscale, dim=3).permute(0, 2, 3, 1).contiguous()


def caption(
    scenes: Scenes, index: int, size: bool = False, colour: bool = False, side: bool = False, brightness: bool = False
) -> str:
    """The caption of one scene naming the chosen attributes, e.g. "a large dim red blob on the left"."""
    words = ["a"]
    if size:
        words.append(SIZE_WORDS[int(scenes.radius[index] >= SIZE_SPLIT)])
    if brightness:
        words.append(BRIGHTNESS_WORDS[int(scenes.brightness[index] >= BRIGHTNESS_SPLIT)])
    if colour:
        words.append(COLOURS[int(scenes.colour_index[index])])
    words.append("blob")
    if side:
        words.append(SIDE_PHRASES[int(scenes.x[index] >= SIDE_SPLIT)])
    return " ".join(words)


def sample_captions(
    scenes: Scenes, generator: torch.Generator, mention: float = 0.5, unconditional: float = 0.1
) -> list[str]:
    """Training captions: each attribute named with probability `mention`; "" (no text) with `unconditional`.

    Naming a random subset teaches the model each word on its own, and the unnamed attributes keep their full
    spread, which is what lets "a blob" (and a slider's neutral prompt) cover the whole world.
    """
    n = len(scenes)
    named = torch.rand(n, 4, generator=generator) < mention
    dropped = torch.rand(n, generator=generator) < unconditional
    return [
        "" if dropped[i] else caption(scenes, i, *(bool(flag) for flag in named[i]))
        for i in range(n)
    ]


def all_captions() -> Sequence[str]:
    """Every caption the training can produce (the text encoder's whole vocabulary), "" included."""
    sizes = ("", *SIZE_WORDS)
    lights = ("", *BRIGHTNESS_WORDS)
    colours = ("", *COLOURS)
    sides = ("", *SIDE_PHRASES)
    texts = [
        " ".join(word for word in ("a", s, b, c, "blob", p) if word)
        for s in sizes for b in lights for c in colours for p in sides
    ]
    return ["", *texts]
