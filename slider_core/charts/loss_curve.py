"""Small PIL renderings for node outputs (ComfyUI ships Pillow); returned as ComfyUI IMAGE tensors."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw


def loss_curve(losses: list[float], title: str, width: int = 512, height: int = 256) -> torch.Tensor:
    """Raw loss in light grey, a moving average in blue, min/max on the axis: enough to see a run converge."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = 48, 24, width - 12, height - 24
    draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
    draw.text((left, 6), title, fill=(0, 0, 0))
    if losses:
        values = np.asarray(losses, dtype=np.float64)
        window = max(1, len(values) // 20)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        low, high = float(values.min()), float(values.max())
        span = high - low or 1.0

        def points(series: np.ndarray, offset: int) -> list[tuple[float, float]]:
            count = max(len(values) - 1, 1)
            return [(left + (i + offset) / count * (right - left), bottom - (v - low) / span * (bottom - top))
                    for i, v in enumerate(series)]

        if len(values) > 1:
            draw.line(points(values, 0), fill=(200, 200, 200), width=1)
            draw.line(points(smooth, window - 1), fill=(30, 90, 200), width=2)
        draw.text((4, top), f"{high:.3g}", fill=(0, 0, 0))
        draw.text((4, bottom - 10), f"{low:.3g}", fill=(0, 0, 0))
        draw.text((left, bottom + 6), f"step 1 … {len(values)}   last {values[-1]:.4g}", fill=(0, 0, 0))
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).unsqueeze(0)
