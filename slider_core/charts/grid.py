"""A strength sweep laid out as one labelled grid: a column per strength, a row per seed, an optional title."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..errors import SliderConfigError
from ..strengths import format_strengths, strength_label


def label_font_size(cell_width: int) -> int:
    """Labels scale with the cells (legible on 512 px images, not overwhelming on 64 px ones)."""
    return int(min(48, max(12, cell_width // 8)))


def strip_height(cell_width: int) -> int:
    """Height of the label strip and of the title strip: the font plus half its size above and below."""
    return 2 * label_font_size(cell_width)


def sweep_grid(images: torch.Tensor, strengths: list[float], title: str = "") -> torch.Tensor:
    """(1, H, W, 3) grid: [title strip], rows x columns of cells, a strip with each column's strength."""
    columns = len(strengths)
    count, cell_height, cell_width = images.shape[0], images.shape[1], images.shape[2]
    if count == 0 or count % columns:
        raise SliderConfigError(
            f"Slider Sweep Grid: {count} images cannot fill {columns} columns (one per strength in "
            f"{format_strengths(strengths)!r}); feed it the decoded output of the Slider Sweep these strengths came from"
        )
    rows = count // columns
    cells = _rgb(images)
    strip = strip_height(cell_width)
    top = strip if title else 0
    canvas = torch.ones(top + rows * cell_height + strip, columns * cell_width, 3, dtype=cells.dtype, device=cells.device)
    for index in range(count):
        row, column = divmod(index, columns)
        y, x = top + row * cell_height, column * cell_width
        canvas[y:y + cell_height, x:x + cell_width] = cells[index]
    font = label_font(label_font_size(cell_width))
    labels = [(strength_label(value), column * cell_width, cell_width) for column, value in enumerate(strengths)]
    canvas[-strip:] = text_strip(canvas.shape[1], strip, labels, font).to(canvas)
    if title:
        canvas[:top] = text_strip(canvas.shape[1], top, [(title, 0, canvas.shape[1])], font).to(canvas)
    return canvas.unsqueeze(0)


def _rgb(images: torch.Tensor) -> torch.Tensor:
    channels = images.shape[-1]
    if channels == 1:
        return images.expand(*images.shape[:-1], 3)
    if channels in (3, 4):
        return images[..., :3]  # an alpha channel has nowhere to go in a grid on white
    raise SliderConfigError(f"Slider Sweep Grid: images have {channels} channels; expected 1, 3 or 4")


def label_font(size: int) -> Any:
    """Pillow's built-in font at `size`; Pillow before 10.1 only has the fixed-size bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def text_strip(width: int, height: int, texts: list[tuple[str, int, int]], font: Any) -> torch.Tensor:
    """White strip with each (text, left, span) centred in its span, or left-aligned where it is too wide."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for text, left, span in texts:
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        x = left + max(0, (span - (x1 - x0)) // 2) - x0
        y = (height - (y1 - y0)) // 2 - y0
        draw.text((x, y), text, fill=(0, 0, 0), font=font)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
