"""A toy-world sweep's latents as a table of measured attributes, its CSV and a one-screen summary."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable

import torch

from ..errors import SliderConfigError
from ..evaluation import sweep_effect

Measure = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def sweep_table(latents: torch.Tensor, strengths: list[float], measure: Measure) -> dict[str, torch.Tensor]:
    """attribute → (strengths, rows) tensor, from row-major (row = seed, column = strength) latents."""
    columns = len(strengths)
    if latents.shape[0] % columns:
        raise SliderConfigError(f"{latents.shape[0]} latents cannot be split into {columns} strengths: measure the "
                                "output of the Slider Sweep these strengths came from")
    return {name: value.reshape(-1, columns).T for name, value in measure(latents).items()}


def table_csv(table: dict[str, torch.Tensor], strengths: list[float]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    names = list(table)
    writer.writerow(["strength", "seed_row", *names])
    rows = next(iter(table.values())).shape[1]
    for column, strength in enumerate(strengths):
        for row in range(rows):
            writer.writerow([f"{strength:g}", row, *(f"{table[name][column, row].item():.5f}" for name in names)])
    return out.getvalue()


def summarise(table: dict[str, torch.Tensor], strengths: list[float]) -> str:
    lines = [f"{'attribute':<11} {'rho':>6} {'change':>9} {'effect':>7}   mean per strength"]
    rows = next(iter(table.values())).shape[1]
    for name, values in table.items():
        effect = sweep_effect(strengths, values)
        means = " ".join(f"{v:.3f}" for v in values.mean(dim=1).tolist())
        shown = f"{effect.effect:>7.2f}" if rows > 1 else f"{'n/a':>7}"
        lines.append(f"{name:<11} {effect.rho:>+6.2f} {effect.change:>+9.4f} {shown}   {means}")
    if rows == 1:
        lines.append("effect (change in seed spreads) needs at least 2 seed rows: raise the sweep's rows")
    return "\n".join(lines)
