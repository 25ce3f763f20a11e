"""The Slider Report's picture: the first seed's images at each strength over a plot of what the base model
judged, with the calibrated range shaded and the verdicts written underneath.

The plot is in efficacy seed spreads from strength 0: the efficacy mean with a ±1 standard deviation band across
seeds, and each preservation pair's mean on the same scale, so a leaking pair shows as a line leaving zero.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..strengths import strength_label
from .grid import label_font, sweep_grid
from .preview_strip import tile_scale

PLOT_HEIGHT = 280
PAIR_COLOURS = [(214, 96, 39), (46, 150, 80), (150, 70, 170), (120, 120, 120)]


def report_chart(images: torch.Tensor, strengths: list[float], efficacy: torch.Tensor, spread: float,
                 locality: dict[str, torch.Tensor], strength_range: tuple[float, float] | None,
                 lines: list[str], title: str) -> torch.Tensor:
    """(1, H, W, 3). `images` (len(strengths), h, w, 3) the first seed's pictures; `efficacy` and each `locality`
    entry (strengths, seeds) scores; `spread` the efficacy score's seed spread, the plot's unit."""
    scale = tile_scale(images.shape[1], images.shape[2])
    tiles = images.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    strip = sweep_grid(tiles, strengths, title)[0]
    width = max(int(strip.shape[1]), 480)
    plot = _plot(width, strengths, efficacy, spread or 1.0, locality, strength_range)
    text = _text(width, lines, [f"pair {label}" for label in locality])
    canvas = torch.ones(strip.shape[0] + plot.shape[0] + text.shape[0], width, 3)
    canvas[: strip.shape[0], : strip.shape[1]] = strip.float().cpu()
    canvas[strip.shape[0] : strip.shape[0] + plot.shape[0]] = plot
    canvas[strip.shape[0] + plot.shape[0] :] = text
    return canvas.unsqueeze(0)


def _plot(width: int, strengths: list[float], efficacy: torch.Tensor, spread: float,
          locality: dict[str, torch.Tensor], strength_range: tuple[float, float] | None) -> torch.Tensor:
    image = Image.new("RGB", (width, PLOT_HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = 56, 16, width - 16, PLOT_HEIGHT - 28
    zero = strengths.index(0.0)
    values = efficacy.double()
    mean = ((values.mean(dim=1) - values[zero].mean()) / spread).numpy()
    band = (values.std(dim=1) / spread).numpy()
    pairs = {label: ((scores.double().mean(dim=1) - scores.double()[zero].mean()) / spread).numpy()
             for label, scores in locality.items()}
    every = np.concatenate([mean - band, mean + band, *pairs.values(), [0.0]])
    low, high = float(every.min()), float(every.max())
    span = (high - low) or 1.0

    def point(strength: float, value: float) -> tuple[float, float]:
        x = left + (strength - strengths[0]) / ((strengths[-1] - strengths[0]) or 1.0) * (right - left)
        return x, bottom - (value - low) / span * (bottom - top)

    if strength_range is not None:
        (x0, _), (x1, _) = point(strength_range[0], 0.0), point(strength_range[1], 0.0)
        draw.rectangle((x0, top, x1, bottom), fill=(228, 240, 228))
    draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
    draw.line([point(strengths[0], 0.0), point(strengths[-1], 0.0)], fill=(200, 200, 200))
    upper = [point(s, m + b) for s, m, b in zip(strengths, mean, band, strict=True)]
    lower = [point(s, m - b) for s, m, b in zip(strengths, mean, band, strict=True)]
    draw.polygon(upper + lower[::-1], fill=(200, 215, 240))
    draw.line([point(s, m) for s, m in zip(strengths, mean, strict=True)], fill=(30, 90, 200), width=3)
    for index, series in enumerate(pairs.values()):
        draw.line([point(s, m) for s, m in zip(strengths, series, strict=True)],
                  fill=PAIR_COLOURS[index % len(PAIR_COLOURS)], width=2)
    font = label_font(12)
    draw.text((4, top), f"{high:+.1f}", fill=(0, 0, 0), font=font)
    draw.text((4, bottom - 12), f"{low:+.1f}", fill=(0, 0, 0), font=font)
    draw.text((4, (top + bottom) // 2 - 6), "spreads", fill=(0, 0, 0), font=font)
    for strength in strengths:
        x, _ = point(strength, 0.0)
        draw.text((x - 8, bottom + 6), strength_label(strength), fill=(0, 0, 0), font=font)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)


def _text(width: int, lines: list[str], legend: list[str]) -> torch.Tensor:
    font = label_font(13)
    entries = [("efficacy (blue, band: +-1 sd across seeds)", (30, 90, 200))]
    entries += [(label, PAIR_COLOURS[index % len(PAIR_COLOURS)]) for index, label in enumerate(legend)]
    entries += [(line, (0, 0, 0)) for line in lines]
    wrapped: list[tuple[str, tuple[int, int, int]]] = []
    limit = max(40, (width - 16) // 7)
    for line, colour in entries:
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            wrapped.append((line[:cut], colour))
            line = line[cut:].lstrip()
        wrapped.append((line, colour))
    image = Image.new("RGB", (width, 10 + 18 * len(wrapped)), "white")
    draw = ImageDraw.Draw(image)
    for row, (line, colour) in enumerate(wrapped):
        draw.text((8, 6 + 18 * row), line, fill=colour, font=font)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
