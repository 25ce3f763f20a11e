"""Procedural one-shape scenes on a grey background, rendered into SD1.x-shaped latents, and their captions.

A scene is one flat-coloured ellipse on a uniform grey background. Its attributes: aspect (log2 of width over
height, tall ↔ wide), horizontal and vertical position, warmth (the object's hue on a warm ↔ cool axis) and the
background's lightness, plus an unnamed size. The semi-axes follow from the size and the aspect so that the
*area* is the size squared whatever the aspect, so an aspect slider cannot pass by growing or shrinking.

Latent layout (channel values; model space is MODEL_SCALE times them):
    0  lightness, 2·L − 1: the background's L outside the object, the object's own mid grey (L = 0.5) inside
    1  warm – cool chroma: warmth w ∈ [−1, 1] times coverage
    2  green – magenta chroma: ±sqrt(1 − w²) times coverage, so every object has the same, visible chroma
    3  coverage of the object (a soft mask), 0 on the background
Every channel's mean over scenes is 0 at every pixel except the coverage, which is exactly 0 on the background:
an epsilon-predicting model recovers the data mean at high noise only to within its error times sigma, so a
background whose level did not average out would drift during sampling (the blob world's reason for black).
ComfyUI's SD1.x latent format multiplies LATENT samples by 0.18215 on the way into the model, so the host's raw
LATENT["samples"] (what KSampler returns and what :func:`render` produces) are model space / 0.18215.

Spatial attributes are fractions of the latent width (x, y, size), so scenes and metrics work at any size; y
counts from the top, as image rows do.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

LATENT_SCALE = 0.18215  # comfy.latent_formats.SD15.scale_factor: raw samples * LATENT_SCALE = model space
MODEL_SCALE = 5.0  # model-space value of a channel value of 1: about the range of real SD latents
LATENT_SIZE = 16  # latent pixels per side the base model is trained at (a 128x128 "image")
DECODE_UPSCALE = 8  # pixels per latent pixel in latent_to_image, like the SD VAE's 8x

ASPECT_RANGE = (-1.2, 1.2)  # log2(width / height): up to 2.3 times as tall as wide, or as wide as tall
SIZE_RANGE = (0.3, 0.36)  # side of the equal-area square, fraction of the width: 4.8-5.8 latent pixels at 16x16
CENTRE_RANGE = (0.31, 0.69)  # x and y of the centre; keeps the longest axis of the largest object inside the frame
WARMTH_RANGE = (-1.0, 1.0)
BACKGROUND_RANGE = (0.2, 0.8)  # background lightness L
OBJECT_LIGHTNESS = 0.5
CHROMA = 0.4  # decoded chroma of every object: warm is orange (0.9, 0.5, 0.1), cool azure (0.1, 0.5, 0.9)
EDGE_SOFTNESS = 0.5  # latent pixels: the edge is a sigmoid this wide (softer edges measure shape less pixelated)

# The caption words, each (low, high) of its attribute
ASPECT_WORDS = ("tall", "wide")
WARMTH_WORDS = ("cool", "warm")
X_PHRASES = ("on the left", "on the right")
Y_PHRASES = ("at the top", "at the bottom")
BACKGROUND_PHRASES = ("on a dark background", "on a light background")
NOUN = "shape"
ASPECT_SPLIT = sum(ASPECT_RANGE) / 2
WARMTH_SPLIT = sum(WARMTH_RANGE) / 2
CENTRE_SPLIT = 0.5
BACKGROUND_SPLIT = sum(BACKGROUND_RANGE) / 2
# Training data only: with this probability a scene's background is moved (mirrored about the split) to the side
# its height implies, light at the top and dark at the bottom; otherwise it stays uniform. So P(light | top) =
# P(dark | bottom) = 1/3 + (2/3)(1/2) = 2/3. See :func:`entangle_height_and_background`.
HEIGHT_BACKGROUND_ENTANGLEMENT = 1 / 3


@dataclass(frozen=True)
class Scenes:
    """A batch of scene parameters, one row per scene (float tensors of shape (B,))."""

    aspect: torch.Tensor  # log2(width / height)
    size: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    warmth: torch.Tensor
    tint: torch.Tensor  # +1 or -1: which way (green or magenta) the hue passes between warm and cool
    background: torch.Tensor

    def __len__(self) -> int:
        return self.aspect.shape[0]


def _uniform(n: int, bounds: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(n, generator=generator)


def sample_scenes(n: int, generator: torch.Generator) -> Scenes:
    """n independent scenes: every attribute is uniform over its range and independent of the others."""
    return Scenes(
        aspect=_uniform(n, ASPECT_RANGE, generator),
        size=_uniform(n, SIZE_RANGE, generator),
        x=_uniform(n, CENTRE_RANGE, generator),
        y=_uniform(n, CENTRE_RANGE, generator),
        warmth=_uniform(n, WARMTH_RANGE, generator),
        tint=torch.randint(2, (n,), generator=generator).float() * 2 - 1,
        background=_uniform(n, BACKGROUND_RANGE, generator),
    )


def entangle_height_and_background(
    batch: Scenes, generator: torch.Generator, strength: float = HEIGHT_BACKGROUND_ENTANGLEMENT
) -> Scenes:
    """The base model's training scenes: height and background lightness deliberately correlated.

    With probability `strength` a scene's background moves to the side its height implies (mirrored about the
    split, which keeps the lightness uniform within each side): light behind objects at the top, dark behind
    those at the bottom. "at the top" then also means "probably on a light background" to the model, so a
    height slider trained without preserving the backgrounds learns lightness along with position. A caption
    that names the background still names the true one.
    """
    forced = torch.rand(len(batch), generator=generator) < strength
    want_light = batch.y < CENTRE_SPLIT
    is_light = batch.background >= BACKGROUND_SPLIT
    low, high = BACKGROUND_RANGE
    mirrored = torch.where(forced & (want_light != is_light), low + high - batch.background, batch.background)
    return replace(batch, background=mirrored)


def training_scenes(n: int, generator: torch.Generator) -> Scenes:
    """What the base model is trained on: independent scenes, then the height ↔ background entanglement."""
    return entangle_height_and_background(sample_scenes(n, generator), generator)


def semi_axes(scenes: Scenes) -> tuple[torch.Tensor, torch.Tensor]:
    """(horizontal, vertical) semi-axes as fractions of the width: π·a·b = size², a / b = 2^aspect."""
    radius = scenes.size / torch.pi**0.5
    stretch = 2 ** (scenes.aspect / 2)
    return radius * stretch, radius / stretch


def coverage(scenes: Scenes, size: int = LATENT_SIZE) -> torch.Tensor:
    """(B, size, size) soft mask of each scene's ellipse, of area size² · scenes.size² latent pixels."""
    a, b = (axis.view(-1, 1, 1) * size for axis in semi_axes(scenes))
    centres = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    dx = (centres.view(1, 1, size) - scenes.x.view(-1, 1, 1)) * size
    dy = (centres.view(1, size, 1) - scenes.y.view(-1, 1, 1)) * size
    # the ellipse's own radius r (1 on the edge) over its gradient: the distance to the edge in latent pixels,
    # exact along both axes and first-order elsewhere
    radius = torch.sqrt((dx / a) ** 2 + (dy / b) ** 2)
    slope = torch.sqrt((dx / a**2) ** 2 + (dy / b**2) ** 2) / radius.clamp(min=1e-6)
    distance = (radius - 1) / slope.clamp(min=1e-6)
    return torch.sigmoid(-distance / EDGE_SOFTNESS)


def render(scenes: Scenes, size: int = LATENT_SIZE) -> torch.Tensor:
    """Raw LATENT samples (B, 4, size, size) of the scenes, in the host's convention (model space / 0.18215)."""
    mask = coverage(scenes, size)
    background = (2 * scenes.background - 1).view(-1, 1, 1)
    lightness = background * (1 - mask) + (2 * OBJECT_LIGHTNESS - 1) * mask
    warm = scenes.warmth.view(-1, 1, 1) * mask
    green = (scenes.tint * (1 - scenes.warmth**2).clamp(min=0).sqrt()).view(-1, 1, 1) * mask
    values = torch.stack([lightness, warm, green, mask], dim=1)
    return values * (MODEL_SCALE / LATENT_SCALE)


def channel_values(samples: torch.Tensor) -> torch.Tensor:
    """Raw LATENT samples back to channel values (nominally in [-1, 1]); the inverse of :func:`render`'s mapping."""
    return samples.float() * (LATENT_SCALE / MODEL_SCALE)


def latent_to_image(samples: torch.Tensor, upscale: int = DECODE_UPSCALE) -> torch.Tensor:
    """The trivial "VAE decode": opponent channels to RGB as a ComfyUI IMAGE (B, H, W, 3) in [0, 1], upscaled nearest.

    Lightness L = (c0 + 1) / 2, warm–cool w = CHROMA·c1 (R − B = 2w), green–magenta g = CHROMA·c2 (G − (R + B)/2
    = g); the coverage channel is not drawn, as a VAE draws no mask.
    """
    values = channel_values(samples)
    lightness = (values[:, 0] + 1) / 2
    warm, green = CHROMA * values[:, 1], CHROMA * values[:, 2]
    rgb = torch.stack([lightness - green / 3 + warm, lightness + 2 * green / 3, lightness - green / 3 - warm], dim=1)
    rgb = rgb.clamp(0.0, 1.0)
    return rgb.repeat_interleave(upscale, dim=2).repeat_interleave(upscale, dim=3).permute(0, 2, 3, 1).contiguous()


def caption(
    scenes: Scenes, index: int, aspect: bool = False, warmth: bool = False, y: bool = False, x: bool = False,
    background: bool = False,
) -> str:
    """One scene's caption naming the chosen attributes, e.g. "a wide warm shape at the top on a dark background"."""
    words = ["a"]
    if aspect:
        words.append(ASPECT_WORDS[int(scenes.aspect[index] >= ASPECT_SPLIT)])
    if warmth:
        words.append(WARMTH_WORDS[int(scenes.warmth[index] >= WARMTH_SPLIT)])
    words.append(NOUN)
    if y:
        words.append(Y_PHRASES[int(scenes.y[index] >= CENTRE_SPLIT)])
    if x:
        words.append(X_PHRASES[int(scenes.x[index] >= CENTRE_SPLIT)])
    if background:
        words.append(BACKGROUND_PHRASES[int(scenes.background[index] >= BACKGROUND_SPLIT)])
    return " ".join(words)


CAPTIONED = 5  # attributes a caption can name, in caption()'s argument order


def sample_captions(
    scenes: Scenes, generator: torch.Generator, mention: float = 0.5, unconditional: float = 0.1
) -> list[str]:
    """Training captions: each attribute named with probability `mention`; "" (no text) with `unconditional`.

    Naming a random subset teaches the model each phrase on its own, and the unnamed attributes keep their full
    spread, which is what lets "a shape" (and a slider's neutral prompt) cover the whole world.
    """
    n = len(scenes)
    named = torch.rand(n, CAPTIONED, generator=generator) < mention
    dropped = torch.rand(n, generator=generator) < unconditional
    return [
        "" if dropped[i] else caption(scenes, i, *(bool(flag) for flag in named[i]))
        for i in range(n)
    ]


def all_captions() -> Sequence[str]:
    """Every caption the training can produce (the text encoder's whole vocabulary), "" included."""
    texts = [
        " ".join(word for word in ("a", s, w, NOUN, y, x, b) if word)
        for s in ("", *ASPECT_WORDS) for w in ("", *WARMTH_WORDS) for y in ("", *Y_PHRASES)
        for x in ("", *X_PHRASES) for b in ("", *BACKGROUND_PHRASES)
    ]
    return ["", *texts]
